using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;
using static Platform.IntegrationTests.Infrastructure.HttpJson;

namespace Platform.IntegrationTests.Tenants;

[Collection(PlatformCollection.Name)]
public sealed class AuthenticationTests(PlatformFactory factory)
{

    [Fact]
    public async Task MissingKey_OnV1_Is401WithOpenAiShapedError()
    {
        using var client = factory.ClientWithKey(null);
        using var response = await client.GetAsync("/v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = (await JsonAsync(response)).GetProperty("error");
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Equal("authentication_error", error.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.Contains("Authorization: Bearer", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingKey_OnApi_Is401ProblemDetails()
    {
        using var client = factory.ClientWithKey(null);
        using var response = await client.GetAsync("/api/v1/tenants");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await JsonAsync(response);
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Token abc")]
    [InlineData("Bearer two words")]
    public async Task MalformedAuthorizationHeader_Is401Explained(string header)
    {
        using var client = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        request.Headers.TryAddWithoutValidation("Authorization", header);
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("malformed", (await JsonAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownKey_Is401()
    {
        using var client = factory.ClientWithKey("sk-plt-this-key-does-not-exist-0000000000000");
        using var response = await client.GetAsync("/v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ApiKeyHeader_IsAcceptedLikeBearer()
    {
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("api-key", TestEnvironment.DemoKey);
        using var response = await client.GetAsync("/v1/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("list", (await JsonAsync(response)).GetProperty("object").GetString());
    }

    [Fact]
    public async Task DemoClientKey_IsAcceptedOnV1_AndRefusedOnManagementApi()
    {
        using var client = factory.ClientWithKey(TestEnvironment.DemoKey);

        using var models = await client.GetAsync("/v1/models");
        using var tenants = await client.GetAsync("/api/v1/tenants");

        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, tenants.StatusCode);
    }

    [Fact]
    public async Task RevokedKey_IsRefusedAtOnceOnThisSilo()
    {
        var tenant = await factory.CreateTenantAsync();
        var (id, secret) = await factory.CreateKeyAsync(tenant, "viewer");
        using var client = factory.ClientWithKey(secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/me")).StatusCode);

        using var admin = factory.Admin();
        using var revoke = await admin.DeleteAsync($"/api/v1/tenants/{tenant}/keys/{id}");
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/me")).StatusCode);
    }

    [Fact]
    public async Task RotatedKey_OldSecretRefused_NewSecretAccepted()
    {
        var tenant = await factory.CreateTenantAsync();
        var (id, oldSecret) = await factory.CreateKeyAsync(tenant, "operator");

        using var admin = factory.Admin();
        using var rotate = await admin.PostAsync($"/api/v1/tenants/{tenant}/keys/{id}/rotate", null);
        Assert.Equal(HttpStatusCode.OK, rotate.StatusCode);
        var newSecret = (await JsonAsync(rotate)).GetProperty("secret").GetString()!;

        using var oldClient = factory.ClientWithKey(oldSecret);
        using var newClient = factory.ClientWithKey(newSecret);
        Assert.Equal(HttpStatusCode.Unauthorized, (await oldClient.GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await newClient.GetAsync("/api/v1/me")).StatusCode);
    }

    [Fact]
    public async Task ExpiredKey_IsRefused()
    {
        var tenant = await factory.CreateTenantAsync();
        using var admin = factory.Admin();
        using var created = await admin.PostAsJsonAsync(
            $"/api/v1/tenants/{tenant}/keys",
            new { name = "short-lived", role = "viewer", expiresAt = DateTimeOffset.UtcNow.AddSeconds(1.5) });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var client = factory.ClientWithKey((await JsonAsync(created)).GetProperty("secret").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/me")).StatusCode);

        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/me")).StatusCode);
    }

    [Fact]
    public async Task DisabledTenant_KeysStopWorking_AndWorkAgainWhenEnabled()
    {
        var tenant = await factory.CreateTenantAsync();
        var (_, secret) = await factory.CreateKeyAsync(tenant, "client");
        using var client = factory.ClientWithKey(secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);

        using var admin = factory.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/tenants/{tenant}/disable", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/models")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/tenants/{tenant}/enable", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
    }

    [Fact]
    public async Task Dashboard_RequiresAnAdminKey_ByBasicAuthOrBearer()
    {
        using var anonymous = factory.CreateClient();
        using var challenge = await anonymous.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
        Assert.Contains("Basic", challenge.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        using var basic = factory.CreateClient();
        basic.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + TestEnvironment.AdminKey)));
        using var page = await basic.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Orleans Dashboard", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var bearer = factory.Admin();
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/dashboard/")).StatusCode);

        using var client = factory.ClientWithKey(TestEnvironment.DemoKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/dashboard/")).StatusCode);
    }

    [Fact]
    public async Task EveryResponse_CarriesARequestId_AndEchoesAValidOne()
    {
        using var client = factory.CreateClient();
        using var generated = await client.GetAsync("/health/live");
        Assert.StartsWith("req_", generated.Headers.GetValues("x-request-id").Single(), StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        request.Headers.Add("x-request-id", "my-trace-123");
        using var echoed = await client.SendAsync(request);
        Assert.Equal("my-trace-123", echoed.Headers.GetValues("x-request-id").Single());
    }
}
