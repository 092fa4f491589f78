using System.Net;
using System.Net.Http.Json;
using Platform.IntegrationTests.Infrastructure;
using static Platform.IntegrationTests.Infrastructure.HttpJson;

namespace Platform.IntegrationTests.Gateway;

[Collection(GatewayCollection.Name)]
public sealed class ModelCatalogApiTests(GatewayFixture fixture)
{

    private static object Chat(string model) => new { model, messages = new[] { new { role = "user", content = "hi" } } };

    [Fact]
    public async Task AdminAddsARoute_ItIsListedAndServed_ThenRemovedAndGone()
    {
        var name = "api-" + Guid.NewGuid().ToString("N")[..8];
        using var admin = fixture.Host.Admin();
        using var client = fixture.Host.ClientWithKey(TestEnvironment.DemoKey);

        using var put = await admin.PutAsJsonAsync($"/api/v1/models/{name}", new { provider = "simulated", upstreamModel = "gpt-4o", simulated = new { outputWords = 3 } });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var created = await JsonAsync(put);
        Assert.Equal("api", created.GetProperty("source").GetString());
        Assert.Equal(2.5m, created.GetProperty("inputPricePerMillion").GetDecimal());

        using var served = await client.PostAsJsonAsync("/v1/chat/completions", Chat(name));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(name, served.Headers.GetValues("x-platform-route").Single());

        using var delete = await admin.DeleteAsync($"/api/v1/models/{name}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        using var gone = await client.PostAsJsonAsync("/v1/chat/completions", Chat(name));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task OverridingAConfiguredRoute_ChangesItsPrice_AndRemovingTheOverrideRestoresIt()
    {
        using var admin = fixture.Host.Admin();
        using var before = await admin.GetAsync("/api/v1/models/sim-large");
        Assert.Equal("configuration", (await JsonAsync(before)).GetProperty("source").GetString());

        using var put = await admin.PutAsJsonAsync("/api/v1/models/sim-large", new { provider = "simulated", upstreamModel = "gpt-4o", outputPricePerMillion = 99 });
        Assert.Equal(99m, (await JsonAsync(put)).GetProperty("outputPricePerMillion").GetDecimal());

        using var delete = await admin.DeleteAsync("/api/v1/models/sim-large");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        using var after = await admin.GetAsync("/api/v1/models/sim-large");
        var restored = await JsonAsync(after);
        Assert.Equal("configuration", restored.GetProperty("source").GetString());
        Assert.Equal(10m, restored.GetProperty("outputPricePerMillion").GetDecimal());
    }

    [Fact]
    public async Task InvalidRoute_Is400AndNothingChanges()
    {
        using var admin = fixture.Host.Admin();

        using var badProvider = await admin.PutAsJsonAsync("/api/v1/models/bad-one", new { provider = "anthropic" });
        using var badFallback = await admin.PutAsJsonAsync("/api/v1/models/bad-two", new { provider = "simulated", fallbacks = new[] { "nowhere" } });
        using var unknownField = await admin.PutAsJsonAsync("/api/v1/models/bad-three", new { provider = "simulated", apiKey = "sk-secret" });

        Assert.Equal(HttpStatusCode.BadRequest, badProvider.StatusCode);
        Assert.Contains("Provider", (await JsonAsync(badProvider)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badFallback.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, unknownField.StatusCode);
        Assert.Contains("apiKey", await unknownField.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var list = await admin.GetAsync("/api/v1/models");
        Assert.DoesNotContain("bad-", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiRoutes_MayOnlyReadProviderPrefixedVariables_AndEndpointsAreShownWithoutCredentials()
    {
        using var admin = fixture.Host.Admin();

        using var refused = await admin.PutAsJsonAsync("/api/v1/models/steal", new { provider = "openai", endpoint = "http://127.0.0.1:9/v1", credentialEnvironmentVariable = "Platform__Azure__ConnectionString" });
        using var allowed = await admin.PutAsJsonAsync("/api/v1/models/vllm-local", new { provider = "openai", endpoint = "http://user:pass@127.0.0.1:9/v1?token=abc", credentialEnvironmentVariable = "PLATFORM_PROVIDER_VLLM" });

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        var shown = (await JsonAsync(allowed)).GetProperty("endpoint").GetString();
        Assert.Equal("http://127.0.0.1:9/v1", shown);
        await admin.DeleteAsync("/api/v1/models/vllm-local");
    }

    [Fact]
    public async Task ConfiguredRoute_CannotBeDeletedThroughTheApi()
    {
        using var admin = fixture.Host.Admin();
        using var response = await admin.DeleteAsync("/api/v1/models/sim-small");
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
    }

    [Fact]
    public async Task OnlyAdminsChangeTheCatalog_AndCatalogChangesAreAudited()
    {
        var tenant = await fixture.Host.CreateTenantAsync();
        var (_, owner) = await fixture.Host.CreateKeyAsync(tenant, "owner");
        using var ownerClient = fixture.Host.ClientWithKey(owner);
        using var denied = await ownerClient.PutAsJsonAsync("/api/v1/models/owner-route", new { provider = "simulated" });
        using var listed = await ownerClient.GetAsync("/api/v1/models");
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);

        var name = "audited-" + Guid.NewGuid().ToString("N")[..6];
        using var admin = fixture.Host.Admin();
        using var put = await admin.PutAsJsonAsync($"/api/v1/models/{name}", new { provider = "simulated" });
        using var audit = await admin.GetAsync("/api/v1/tenants/system/audit?limit=500");
        Assert.Contains((await JsonAsync(audit)).GetProperty("entries").EnumerateArray(),
            e => e.GetProperty("action").GetString() == "model.upsert" && e.GetProperty("target").GetString() == $"model/{name}");
    }

    [Fact]
    public async Task ConcurrentConflictingPuts_ExactlyOneOfEachPairSucceeds_TheOtherIsAProblem()
    {
        // Each pair: PUT a chat route falling back to 'b', while 'b' is turned into an embedding route. Either alone is
        // valid; together they break the rule that a fallback has the route's mode. Validation outside the catalog grain
        // let both pass against a catalog that neither saw whole.
        using var admin = fixture.Host.Admin();
        var pairs = Enumerable.Range(0, 12).Select(_ => "race-" + Guid.NewGuid().ToString("N")[..6]).ToList();
        foreach (var pair in pairs)
        {
            using var target = await admin.PutAsJsonAsync($"/api/v1/models/{pair}-b", new { provider = "simulated" });
            Assert.Equal(HttpStatusCode.OK, target.StatusCode);
        }

        var racing = pairs.Select(pair => Task.WhenAll(
            admin.PutAsJsonAsync($"/api/v1/models/{pair}-a", new { provider = "simulated", fallbacks = new[] { $"{pair}-b" } }),
            admin.PutAsJsonAsync($"/api/v1/models/{pair}-b", new { provider = "simulated", mode = "embedding" }))).ToList();
        var results = await Task.WhenAll(racing);

        try
        {
            foreach (var responses in results)
            {
                Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
                var refused = Assert.Single(responses, r => r.StatusCode != HttpStatusCode.OK);
                Assert.Contains(refused.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.Conflict });
                Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
                Assert.Contains("Fallbacks", (await JsonAsync(refused)).GetProperty("detail").GetString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            foreach (var response in results.SelectMany(r => r))
            {
                response.Dispose();
            }

            foreach (var pair in pairs)
            {
                (await admin.DeleteAsync($"/api/v1/models/{pair}-a")).Dispose();
                (await admin.DeleteAsync($"/api/v1/models/{pair}-b")).Dispose();
            }
        }
    }
}
