using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Platform.IntegrationTests.Infrastructure;
using Platform.Silo.Auth;
using Platform.Silo.Hosting;
using Platform.Tenants;
using static Platform.IntegrationTests.Infrastructure.HttpJson;

namespace Platform.IntegrationTests.Tenants;

[Collection(PlatformCollection.Name)]
public sealed class AuthenticationTests(PlatformFactory factory)
{
    private static int _nextAddress;

    /// <summary>A client address no other test uses, so failed-authentication counts do not mix between tests.</summary>
    private static string NewAddress()
    {
        var n = Interlocked.Increment(ref _nextAddress);
        return $"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}";
    }

    private sealed record Reply(int Status, string? RetryAfter, string? ContentType, JsonElement Body);

    /// <summary>One request through the real host as if from <paramref name="address"/>.</summary>
    private async Task<Reply> SendFromAsync(string address, string path, string? authorization)
    {
        var context = await factory.Server.SendAsync(c =>
        {
            c.Request.Method = "GET";
            c.Request.Path = path;
            if (authorization is not null)
            {
                c.Request.Headers.Authorization = authorization;
            }

            c.Connection.RemoteIpAddress = IPAddress.Parse(address);
        });
        using var reader = new StreamReader(context.Response.Body);
        var text = await reader.ReadToEndAsync();
        using var json = JsonDocument.Parse(context.Response.ContentType?.Contains("json", StringComparison.Ordinal) == true ? text : "null");
        return new Reply(context.Response.StatusCode, context.Response.Headers.RetryAfter.ToString() is { Length: > 0 } r ? r : null,
            context.Response.ContentType, json.RootElement.Clone());
    }

    private int FailureLimit => factory.Services.GetRequiredService<IOptions<PlatformOptions>>().Value.Authentication.FailureLimit;

    private async Task<int> KeyGrainActivationsAsync()
    {
        var statistics = await factory.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        return statistics.Where(s => s.GrainType.StartsWith("Platform.Tenants.ApiKeyGrain,", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
    }

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

        // Poll to a deadline well past the expiry (1.5 s) plus the cache's staleness bound; no fixed sleep.
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        var status = HttpStatusCode.OK;
        while (status == HttpStatusCode.OK && DateTimeOffset.UtcNow < deadline)
        {
            using var response = await client.GetAsync("/api/v1/me");
            status = response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, status);
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

    [Theory]
    [InlineData("Bearer sk-plt-short")]
    [InlineData("Bearer sk-plt-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")]
    [InlineData("Bearer too-short-configured-key")]
    [InlineData("Bearer LONG")]
    public async Task MalformedKey_Is401ExplainingTheFormat(string authorization)
    {
        var reply = await SendFromAsync(NewAddress(), "/v1/models", authorization.Replace("LONG", new string('k', 257), StringComparison.Ordinal));

        Assert.Equal(401, reply.Status);
        var message = reply.Body.GetProperty("error").GetProperty("message").GetString();
        Assert.Contains("malformed", message, StringComparison.Ordinal);
        Assert.Contains("sk-plt-", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownWellFormedKey_Is401_AndActivatesNoKeyGrain()
    {
        var before = await KeyGrainActivationsAsync();
        var address = NewAddress();

        var reply = await SendFromAsync(address, "/api/v1/me", "Bearer " + ApiKeySecret.Generate());

        Assert.Equal(401, reply.Status);
        Assert.Equal("application/problem+json", reply.ContentType);
        Assert.Contains("not valid", reply.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(await KeyGrainActivationsAsync() <= before, "an unknown key activated a key grain");
    }

    [Fact]
    public async Task FailedAuthentications_FromOneAddress_Become429WithRetryAfter_WhileValidKeysFromItStillWork()
    {
        var address = NewAddress();
        for (var i = 0; i < FailureLimit; i++)
        {
            Assert.Equal(401, (await SendFromAsync(address, "/v1/models", "Bearer " + ApiKeySecret.Generate())).Status);
        }

        var openAi = await SendFromAsync(address, "/v1/models", "Bearer " + ApiKeySecret.Generate());
        var problem = await SendFromAsync(address, "/api/v1/me", "Bearer " + ApiKeySecret.Generate());
        var valid = await SendFromAsync(address, "/v1/models", "Bearer " + TestEnvironment.DemoKey);
        var elsewhere = await SendFromAsync(NewAddress(), "/v1/models", "Bearer " + ApiKeySecret.Generate());

        Assert.Equal(429, openAi.Status);
        Assert.InRange(int.Parse(openAi.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.Equal("rate_limit_error", openAi.Body.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("too_many_failed_authentications", openAi.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(429, problem.Status);
        Assert.NotNull(problem.RetryAfter);
        Assert.Equal("application/problem+json", problem.ContentType);
        Assert.Equal(429, problem.Body.GetProperty("status").GetInt32());
        Assert.Equal(200, valid.Status);
        Assert.Equal(401, elsewhere.Status);
    }

    [Theory]
    [InlineData("/api/v1/me")]
    [InlineData("/api/v1/tenants")]
    [InlineData("/v1/models")]
    public async Task BasicAuthentication_OutsideTheDashboard_Is401(string path)
    {
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + TestEnvironment.AdminKey));

        var reply = await SendFromAsync(NewAddress(), path, basic);
        var dashboard = await SendFromAsync(NewAddress(), "/dashboard/", basic);

        Assert.Equal(401, reply.Status);
        Assert.Equal(200, dashboard.Status);
    }

    [Fact]
    public async Task ValidKey_KeepsWorking_DuringABurstOfUnknownKeys_WhichNeitherActivateKeyGrainsNorFillTheCache()
    {
        var tenant = await factory.CreateTenantAsync();
        var (_, secret) = await factory.CreateKeyAsync(tenant, "client");
        var authenticator = factory.Services.GetRequiredService<ApiKeyAuthenticator>();
        Assert.Equal(200, (await SendFromAsync(NewAddress(), "/v1/models", "Bearer " + secret)).Status);
        var cachedBefore = authenticator.CachedKeyCount;
        var activationsBefore = await KeyGrainActivationsAsync();

        var statuses = new System.Collections.Concurrent.ConcurrentBag<(bool Valid, int Status)>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var valid = i % 20 == 0;
            var reply = await SendFromAsync(NewAddress(), "/v1/models", "Bearer " + (valid ? secret : ApiKeySecret.Generate()));
            statuses.Add((valid, reply.Status));
        });

        Assert.All(statuses.Where(s => s.Valid), s => Assert.Equal(200, s.Status));
        Assert.All(statuses.Where(s => !s.Valid), s => Assert.Equal(401, s.Status));
        Assert.True(await KeyGrainActivationsAsync() <= activationsBefore, "unknown keys activated key grains");
        Assert.True(authenticator.CachedKeyCount <= cachedBefore, $"the key cache grew from {cachedBefore} to {authenticator.CachedKeyCount}");
    }

    [Fact]
    public async Task KeyRevokedElsewhereInTheCluster_IsRefusedHereWithinMaxStaleness()
    {
        var tenant = await factory.CreateTenantAsync();
        var (id, secret) = await factory.CreateKeyAsync(tenant, "viewer");
        var address = NewAddress();
        Assert.Equal(200, (await SendFromAsync(address, "/api/v1/me", "Bearer " + secret)).Status);

        // Through the grain, not this silo's API: this silo's cache is not told, as on any other silo.
        await factory.Services.GetRequiredService<IGrainFactory>().GetGrain<ITenantGrain>(tenant)
            .RevokeKeyAsync(id, new Actor("key_admin", TenantIds.System, Role.Admin, "req-test"));
        var revokedAt = System.Diagnostics.Stopwatch.StartNew();

        // The bound is MaxStaleness; the half second on top absorbs scheduling on a loaded test machine.
        var deadline = ApiKeyAuthenticator.MaxStaleness + TimeSpan.FromMilliseconds(500);
        var status = 200;
        while (status == 200 && revokedAt.Elapsed < deadline)
        {
            status = (await SendFromAsync(address, "/api/v1/me", "Bearer " + secret)).Status;
        }

        Assert.Equal(401, status);
    }
}
