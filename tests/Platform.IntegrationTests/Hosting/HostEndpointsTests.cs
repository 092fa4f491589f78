using System.Net;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Hosting;

[Collection(PlatformCollection.Name)]
public sealed class HostEndpointsTests(PlatformFactory factory)
{
    [Fact]
    public async Task Liveness_And_Readiness_Answer200()
    {
        using var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        using var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
        using var post = await client.PostAsync("/health/live", null);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
    }

    [Fact]
    public async Task OpenApiDocument_DescribesTheManagementApi()
    {
        using var client = factory.CreateClient();
        using var response = await client.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var paths = doc.RootElement.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/v1/tenants", out _));
        Assert.True(paths.TryGetProperty("/api/v1/tenants/{tenant}/keys", out _));
    }

    [Fact]
    public async Task OpenApiDocument_DeclaresTheBearerKey_RequestAndResponseSchemas_AndErrorShapes()
    {
        using var client = factory.CreateClient();
        using var response = await client.GetAsync("/openapi/v1.json");
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = doc.RootElement;

        var scheme = root.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());
        Assert.True(root.GetProperty("security")[0].TryGetProperty("bearer", out _));

        var operations = 0;
        foreach (var path in root.GetProperty("paths").EnumerateObject())
        {
            Assert.StartsWith("/", path.Name, StringComparison.Ordinal);
            Assert.False(path.Name.StartsWith("/dashboard", StringComparison.Ordinal), "the dashboard is not part of the API");
            var openAi = path.Name.StartsWith("/v1/", StringComparison.Ordinal);
            foreach (var operation in path.Value.EnumerateObject())
            {
                operations++;
                var at = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                var responses = operation.Value.GetProperty("responses");
                var success = responses.EnumerateObject().Where(r => r.Name.StartsWith('2')).ToList();
                Assert.True(success.Count > 0, at + " declares no success response");
                Assert.True(success.All(r => r.Name == "204" || r.Value.TryGetProperty("content", out _)), at + " has a success response without a schema");
                foreach (var status in new[] { "400", "401", "403", "404", "429", "500" })
                {
                    Assert.True(responses.TryGetProperty(status, out var error), $"{at} does not declare {status}");
                    var media = error.GetProperty("content").EnumerateObject().Single();
                    Assert.Equal(openAi ? "application/json" : "application/problem+json", media.Name);
                }

                if (operation.Name is "put" or "patch" || (operation.Name == "post" && !path.Name.EndsWith("/disable", StringComparison.Ordinal)
                    && !path.Name.EndsWith("/enable", StringComparison.Ordinal) && !path.Name.EndsWith("/rotate", StringComparison.Ordinal)
                    && !path.Name.EndsWith("/reset", StringComparison.Ordinal) && !path.Name.EndsWith("/run", StringComparison.Ordinal)))
                {
                    Assert.True(operation.Value.TryGetProperty("requestBody", out _), at + " does not describe its request body");
                }
            }
        }

        Assert.True(operations >= 39, $"only {operations} operations");
        var createVersion = root.GetProperty("paths").GetProperty("/api/v1/prompts/{name}/versions").GetProperty("post");
        Assert.Contains(createVersion.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "Idempotency-Key"
            && p.GetProperty("in").GetString() == "header");
        Assert.True(createVersion.GetProperty("responses").TryGetProperty("422", out _));
    }

    [Fact]
    public async Task ApiReferencePage_IsServed()
    {
        using var client = factory.CreateClient();
        using var response = await client.GetAsync("/api-reference/v1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<html", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }
}
