using System.Net;
using System.Net.Http.Json;
using Platform.IntegrationTests.Infrastructure;
using static Platform.IntegrationTests.Infrastructure.HttpJson;

namespace Platform.IntegrationTests.Tenants;

/// <summary>Idempotency-Key on management writes, and the length limits of the text fields they store.</summary>
[Collection(PlatformCollection.Name)]
public sealed class IdempotencyAndLimitsTests(PlatformFactory factory)
{
    private static object Version(string text, string message = "change") => new
    {
        messages = new[] { new { role = "system", template = text } },
        parameters = new { model = "sim-small" },
        message,
    };

    private static HttpRequestMessage Post(string path, object body, string? idempotencyKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return request;
    }

    private async Task<(string Tenant, HttpClient Owner)> NewTenantAsync()
    {
        var tenant = await factory.CreateTenantAsync();
        return (tenant, factory.ClientWithKey((await factory.CreateKeyAsync(tenant, "owner")).Secret));
    }

    [Fact]
    public async Task PromptVersion_RetriedWithItsIdempotencyKey_ReturnsTheFirstVersionAndCreatesNoOther()
    {
        var (_, owner) = await NewTenantAsync();
        using var first = await owner.SendAsync(Post("/api/v1/prompts/idem/versions", Version("one"), "key-1"));
        using var other = await owner.SendAsync(Post("/api/v1/prompts/idem/versions", Version("two"), "key-2"));

        // The client never saw the first answer and sends the same request again.
        using var retry = await owner.SendAsync(Post("/api/v1/prompts/idem/versions", Version("one"), "key-1"));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(1, (await JsonAsync(retry)).GetProperty("version").GetInt32());
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        var prompt = await JsonAsync(await owner.GetAsync("/api/v1/prompts/idem"));
        Assert.Equal(2, prompt.GetProperty("versions").GetArrayLength());
    }

    [Fact]
    public async Task IdempotencyKey_ReusedForADifferentRequest_Is422AndChangesNothing()
    {
        var (_, owner) = await NewTenantAsync();
        using var first = await owner.SendAsync(Post("/api/v1/prompts/reuse/versions", Version("one"), "same-key"));
        using var reused = await owner.SendAsync(Post("/api/v1/prompts/reuse/versions", Version("different"), "same-key"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Equal("application/problem+json", reused.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Idempotency-Key", (await JsonAsync(reused)).GetProperty("field").GetString());
        var prompt = await JsonAsync(await owner.GetAsync("/api/v1/prompts/reuse"));
        Assert.Equal(1, prompt.GetProperty("versions").GetArrayLength());
    }

    [Fact]
    public async Task KeyCreation_RetriedWithItsIdempotencyKey_CreatesOneKey_AndNeverRepeatsTheSecret()
    {
        var (tenant, owner) = await NewTenantAsync();
        var body = new { name = "ci", role = "developer" };
        using var first = await owner.SendAsync(Post($"/api/v1/tenants/{tenant}/keys", body, "create-ci-key"));
        using var retry = await owner.SendAsync(Post($"/api/v1/tenants/{tenant}/keys", body, "create-ci-key"));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, retry.StatusCode);
        var secret = (await JsonAsync(first)).GetProperty("secret").GetString()!;
        var text = await retry.Content.ReadAsStringAsync();
        Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        Assert.Contains(first.Headers.Location!.ToString(), text, StringComparison.Ordinal);
        var keys = await JsonAsync(await owner.GetAsync($"/api/v1/tenants/{tenant}/keys"));
        Assert.Single(keys.EnumerateArray(), k => k.GetProperty("name").GetString() == "ci");
    }

    [Fact]
    public async Task CanaryStart_RetriedWithItsIdempotencyKey_ReturnsTheSameRevision()
    {
        var (_, owner) = await NewTenantAsync();
        using var created = await owner.SendAsync(Post("/api/v1/deployments", new { name = "bot", stable = new { modelRoute = "sim-small" } }, "create-bot"));
        using var createdAgain = await owner.SendAsync(Post("/api/v1/deployments", new { name = "bot", stable = new { modelRoute = "sim-small" } }, "create-bot"));
        var canary = new { release = new { modelRoute = "sim-large" }, weight = 10, reason = "try" };
        using var first = await owner.SendAsync(Post("/api/v1/deployments/bot/canary", canary, "canary-1"));
        using var retry = await owner.SendAsync(Post("/api/v1/deployments/bot/canary", canary, "canary-1"));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.Created, createdAgain.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal((await JsonAsync(first)).GetProperty("revision").GetInt64(), (await JsonAsync(retry)).GetProperty("revision").GetInt64());
        var history = await JsonAsync(await owner.GetAsync("/api/v1/deployments/bot/history"));
        Assert.Equal(2, history.GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task TenantDisable_RetriedWithItsIdempotencyKey_IsReplayed()
    {
        var tenant = await factory.CreateTenantAsync();
        using var admin = factory.Admin();
        using var first = await admin.SendAsync(Post($"/api/v1/tenants/{tenant}/disable", new { }, "disable-1"));
        using var retry = await admin.SendAsync(Post($"/api/v1/tenants/{tenant}/disable", new { }, "disable-1"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.True((await JsonAsync(retry)).GetProperty("disabled").GetBoolean());
    }

    [Fact]
    public async Task IdempotencyKey_Malformed_Is400()
    {
        var (_, owner) = await NewTenantAsync();
        using var response = await owner.SendAsync(Post("/api/v1/prompts/bad-key/versions", Version("one"), new string('k', 201)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Idempotency-Key", (await JsonAsync(response)).GetProperty("field").GetString());
    }

    public static TheoryData<string, string, string, string> TooLong => new()
    {
        // method, path ({t} is the tenant), JSON body with a too-long field, the field named in the answer
        { "POST", "/api/v1/prompts/long/versions", $$"""{"messages":[{"role":"system","template":"x"}],"message":"{{new string('m', 5000)}}"}""", "message" },
        { "POST", "/api/v1/prompts/long/versions",
            $$"""{"messages":[{"role":"system","template":"x"}],"variables":[{"name":"v","type":"string","description":"{{new string('d', 2000)}}"}]}""",
            "variables[0].description" },
        { "PATCH", "/api/v1/tenants/{t}", $$"""{"webhookUrl":"https://example.com/{{new string('u', 3000)}}"}""", "webhookUrl" },
        { "PATCH", "/api/v1/tenants/{t}", $$"""{"displayName":"{{new string('n', 300)}}"}""", "displayName" },
        { "POST", "/api/v1/tenants/{t}/keys", $$"""{"name":"{{new string('k', 200)}}","role":"viewer"}""", "name" },
        { "POST", "/api/v1/deployments", $$$"""{"name":"d","stable":{"modelRoute":"sim-small","promptLabel":"{{{new string('l', 100)}}}"}}""", "stable.promptLabel" },
    };

    [Theory]
    [MemberData(nameof(TooLong))]
    public async Task TextField_OverItsLimit_Is400NamingTheField(string method, string path, string body, string field)
    {
        var (tenant, owner) = await NewTenantAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{t}", tenant, StringComparison.Ordinal))
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };

        using var response = await owner.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(field, (await JsonAsync(response)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task ReasonOverItsLimit_Is400_AndTheDeploymentIsUnchanged()
    {
        var (_, owner) = await NewTenantAsync();
        using var created = await owner.PostAsJsonAsync("/api/v1/deployments", new { name = "r", stable = new { modelRoute = "sim-small" } });
        using var refused = await owner.PostAsJsonAsync("/api/v1/deployments/r/canary",
            new { release = new { modelRoute = "sim-large" }, reason = new string('r', 900_000) });

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("reason", (await JsonAsync(refused)).GetProperty("field").GetString());
        var history = await JsonAsync(await owner.GetAsync("/api/v1/deployments/r/history"));
        Assert.Equal(1, history.GetProperty("total").GetInt64());
    }
}
