using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;
using static Platform.IntegrationTests.Infrastructure.HttpJson;

namespace Platform.IntegrationTests.Deployments;

/// <summary>The host with extra simulated routes: one that fails 30% of requests, one 60 ms slower, one identical to stable.</summary>
public sealed class DeploymentsFixture : IAsyncLifetime
{
    public PlatformFactory Host { get; } = new();

    public Task InitializeAsync()
    {
        void Route(int i, string name, string errorRate = "0", string latency = "0")
        {
            var at = $"Platform:Models:{20 + i}:";
            Host.Settings[at + "Name"] = name;
            Host.Settings[at + "Provider"] = "simulated";
            Host.Settings[at + "UpstreamModel"] = "gpt-4o-mini";
            Host.Settings[at + "MaxRetries"] = "0";
            Host.Settings[at + "Simulated:ErrorRate"] = errorRate;
            Host.Settings[at + "Simulated:LatencyMilliseconds"] = latency;
        }

        Host.Settings["Platform:Webhooks:AllowPrivateNetworks"] = "true";
        Route(0, "sim-flaky", errorRate: "0.3");
        Route(1, "sim-slow", latency: "60");
        Route(2, "sim-twin");
        _ = Host.Server;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class DeploymentsCollection : ICollectionFixture<DeploymentsFixture>
{
    public const string Name = "deployments";
}

[Collection(DeploymentsCollection.Name)]
public sealed class DeploymentsTests(DeploymentsFixture fixture)
{
    private PlatformFactory Host => fixture.Host;


    private async Task<(HttpClient Operator, HttpClient Client, string Tenant)> TenantAsync()
    {
        var tenant = await Host.CreateTenantAsync();
        return (Host.ClientWithKey((await Host.CreateKeyAsync(tenant, "operator")).Secret), Host.ClientWithKey((await Host.CreateKeyAsync(tenant, "client")).Secret), tenant);
    }

    private static async Task CreateAsync(HttpClient op, string name, object policy, string stable = "sim-small")
    {
        using var created = await op.PostAsJsonAsync("/api/v1/deployments", new { name, stable = new { modelRoute = stable }, policy });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    private static async Task CanaryAsync(HttpClient op, string name, string route, int weight)
    {
        using var started = await op.PostAsJsonAsync($"/api/v1/deployments/{name}/canary", new { release = new { modelRoute = route }, weight });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
    }

    private static async Task TrafficAsync(HttpClient client, string deployment, int requests, int offset = 0)
    {
        for (var i = 0; i < requests; i++)
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions", new
            {
                model = deployment,
                messages = new[] { new { role = "user", content = $"question {offset + i}" } },
            });
        }
    }

    private static async Task<JsonElement> WaitForAsync(HttpClient op, string name, Func<JsonElement, bool> done, TimeSpan timeout, Func<Task>? between = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var state = await JsonAsync(await op.GetAsync($"/api/v1/deployments/{name}"));
            if (done(state.GetProperty("deployment")) || DateTime.UtcNow > deadline)
            {
                return state;
            }

            if (between is not null)
            {
                await between();
            }
            else
            {
                await Task.Delay(250);
            }
        }
    }

    /// <summary>Polls the deployment until its monitor report satisfies <paramref name="done"/> (or 10 s pass) and returns the view.</summary>
    private static async Task<JsonElement> WaitForMetricsAsync(HttpClient op, string name, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var view = await JsonAsync(await op.GetAsync($"/api/v1/deployments/{name}"));
            if ((view.TryGetProperty("metrics", out var metrics) && metrics.ValueKind == JsonValueKind.Object && done(metrics)) || DateTime.UtcNow > deadline)
            {
                return view;
            }

            await Task.Delay(50);
        }
    }

    private static bool NoCanary(JsonElement d) => d.GetProperty("state").GetString() == "none";

    [Fact]
    public async Task CanaryWithAWorseErrorRate_IsRolledBackAutomatically_WithTheNumbers()
    {
        var (op, client, _) = await TenantAsync();
        await CreateAsync(op, "errors", new { minSamplesPerArm = 40, minDwellSeconds = 60 });
        await CanaryAsync(op, "errors", "sim-flaky", 50);

        await TrafficAsync(client, "errors", 220);
        var state = await WaitForAsync(op, "errors", NoCanary, TimeSpan.FromSeconds(10));

        Assert.True(NoCanary(state.GetProperty("deployment")), state.GetRawText());
        var history = await JsonAsync(await op.GetAsync("/api/v1/deployments/errors/history"));
        var rollback = history.GetProperty("entries").EnumerateArray().Last();
        Assert.Equal("canary.rollback", rollback.GetProperty("action").GetString());
        Assert.Equal("monitor", rollback.GetProperty("by").GetString());
        Assert.Contains("error rate", rollback.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains("canary: n=", rollback.GetProperty("evidence").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CanaryWithWorseLatency_IsRolledBackAutomatically()
    {
        var (op, client, _) = await TenantAsync();
        await CreateAsync(op, "latency", new { minSamplesPerArm = 30, minDwellSeconds = 60 });
        await CanaryAsync(op, "latency", "sim-slow", 50);

        await TrafficAsync(client, "latency", 120);
        var state = await WaitForAsync(op, "latency", NoCanary, TimeSpan.FromSeconds(10));

        Assert.True(NoCanary(state.GetProperty("deployment")), state.GetRawText());
        var history = await JsonAsync(await op.GetAsync("/api/v1/deployments/latency/history"));
        Assert.Contains("p95 latency", history.GetProperty("entries").EnumerateArray().Last().GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EqualCanary_IsPromotedThroughEveryStep()
    {
        var (op, client, _) = await TenantAsync();
        await CreateAsync(op, "equal", new { minSamplesPerArm = 15, minDwellSeconds = 0.5, steps = new[] { 20, 50, 100 } });
        await CanaryAsync(op, "equal", "sim-twin", 20);

        var offset = 0;
        var state = await WaitForAsync(op, "equal", NoCanary, TimeSpan.FromSeconds(60), async () =>
        {
            await TrafficAsync(client, "equal", 40, offset);
            offset += 40;
        });

        var deployment = state.GetProperty("deployment");
        Assert.True(NoCanary(deployment), state.GetRawText());
        Assert.Equal("sim-twin", deployment.GetProperty("stable").GetProperty("modelRoute").GetString());
        var actions = (await JsonAsync(await op.GetAsync("/api/v1/deployments/equal/history"))).GetProperty("entries").EnumerateArray()
            .Select(h => (h.GetProperty("action").GetString(), h.TryGetProperty("toWeight", out var w) ? w.GetInt32() : -1)).ToList();
        Assert.Contains(("canary.weight", 50), actions);
        Assert.Contains(("canary.promote", 100), actions);
    }

    [Fact]
    public async Task CanaryWithFewSamples_IsNeitherPromotedNorRolledBack()
    {
        var (op, client, _) = await TenantAsync();
        await CreateAsync(op, "few", new { minSamplesPerArm = 1000, minDwellSeconds = 0 });
        await CanaryAsync(op, "few", "sim-flaky", 50);

        await TrafficAsync(client, "few", 60);

        // Every request has reached the monitor and it has judged them: it waits for more samples and does nothing.
        var state = await WaitForMetricsAsync(op, "few", m => m.GetProperty("eventsIngested").GetInt64() == 60
            && m.TryGetProperty("lastVerdict", out var verdict) && verdict.GetString() == "waiting for 1000 samples per arm");
        Assert.Equal(60, state.GetProperty("metrics").GetProperty("eventsIngested").GetInt64());
        Assert.Equal("waiting for 1000 samples per arm", state.GetProperty("metrics").GetProperty("lastVerdict").GetString());
        Assert.Equal("running", state.GetProperty("deployment").GetProperty("state").GetString());
        Assert.Equal(50, state.GetProperty("deployment").GetProperty("canaryWeight").GetInt32());
        Assert.True(state.GetProperty("metrics").GetProperty("canary").GetProperty("requests").GetInt32() > 0);
    }

    [Fact]
    public async Task CallersInvalidRequests_StayOutOfTheArmsWindows_WhileUpstreamFailuresCount()
    {
        var (op, client, tenant) = await TenantAsync();
        using var owner = Host.ClientWithKey((await Host.CreateKeyAsync(tenant, "owner")).Secret);
        using var version = await owner.PostAsJsonAsync("/api/v1/prompts/greeter/versions", new
        {
            messages = new[] { new { role = "system", template = "Greet {{ name }}." } },
            variables = new[] { new { name = "name", type = "string", required = true } },
        });
        Assert.Equal(HttpStatusCode.Created, version.StatusCode);
        using var created = await op.PostAsJsonAsync("/api/v1/deployments", new
        {
            name = "blame",
            stable = new { modelRoute = "sim-small", prompt = "greeter", promptVersion = 1 },
            policy = new { minSamplesPerArm = 100000 },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var canary = await op.PostAsJsonAsync("/api/v1/deployments/blame/canary", new
        {
            release = new { modelRoute = "sim-flaky", prompt = "greeter", promptVersion = 1 },
            weight = 50,
        });
        Assert.Equal(HttpStatusCode.OK, canary.StatusCode);

        // The caller's mistakes: a missing required variable, a variable of the wrong type, one the prompt does not declare.
        var mistakes = new object[]
        {
            new { },
            new { name = 42 },
            new { name = "x", extra = "y" },
        };
        for (var i = 0; i < 30; i++)
        {
            using var refused = await client.PostAsJsonAsync("/v1/chat/completions", new
            {
                model = "blame",
                user = $"user-{i}",
                messages = new[] { new { role = "user", content = "hi" } },
                prompt = new { name = "greeter", variables = mistakes[i % mistakes.Length] },
            });
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        // Valid traffic: the flaky canary's upstream failures are its own and count.
        for (var i = 0; i < 40; i++)
        {
            using var served = await client.PostAsJsonAsync("/v1/chat/completions", new
            {
                model = "blame",
                user = $"user-{i}",
                messages = new[] { new { role = "user", content = $"question {i}" } },
                prompt = new { name = "greeter", variables = new { name = "Ann" } },
            });
        }

        var metrics = (await WaitForMetricsAsync(op, "blame", m => m.GetProperty("eventsIngested").GetInt64() >= 40)).GetProperty("metrics");

        Assert.Equal(40, metrics.GetProperty("stable").GetProperty("requests").GetInt64() + metrics.GetProperty("canary").GetProperty("requests").GetInt64());
        Assert.Equal(0, metrics.GetProperty("stable").GetProperty("errors").GetInt64());
        Assert.True(metrics.GetProperty("canary").GetProperty("errors").GetInt64() > 0);
    }

    [Fact]
    public async Task MetricsOverATimeRange_CountTheRequestsOfEachArmInIt()
    {
        var (op, client, _) = await TenantAsync();
        await CreateAsync(op, "ranged", new { minSamplesPerArm = 100000 });
        await CanaryAsync(op, "ranged", "sim-twin", 50);
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);

        await TrafficAsync(client, "ranged", 60);

        var from = Uri.EscapeDataString(before.ToString("O"));
        await WaitForMetricsAsync(op, "ranged", m => m.GetProperty("eventsIngested").GetInt64() == 60);
        var now = await JsonAsync(await op.GetAsync($"/api/v1/deployments/ranged/metrics?from={from}"));
        var total = now.GetProperty("stable").GetProperty("requests").GetInt32() + now.GetProperty("canary").GetProperty("requests").GetInt32();
        Assert.Equal(60, total);
        Assert.True(now.GetProperty("canary").GetProperty("requests").GetInt32() > 0);

        var past = await JsonAsync(await op.GetAsync($"/api/v1/deployments/ranged/metrics?from={Uri.EscapeDataString(before.AddMinutes(-30).ToString("O"))}&to={from}"));
        Assert.Equal(0, past.GetProperty("stable").GetProperty("requests").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, (await op.GetAsync($"/api/v1/deployments/ranged/metrics?from={from}&to={Uri.EscapeDataString(before.AddMinutes(-5).ToString("O"))}")).StatusCode);
    }

    [Fact]
    public async Task Assignment_IsStickyPerUser_AndSplitsUsersByWeight()
    {
        var (op, client, _) = await TenantAsync();
        await CreateAsync(op, "sticky", new { minSamplesPerArm = 100000 });
        await CanaryAsync(op, "sticky", "sim-twin", 50);

        var arms = new Dictionary<string, HashSet<string>>();
        for (var u = 0; u < 40; u++)
        {
            for (var r = 0; r < 3; r++)
            {
                using var response = await client.PostAsJsonAsync("/v1/chat/completions", new
                {
                    model = "sticky",
                    user = $"user-{u}",
                    messages = new[] { new { role = "user", content = $"hi {r}" } },
                });
                arms.TryAdd($"user-{u}", []);
                arms[$"user-{u}"].Add(response.Headers.GetValues("x-platform-arm").Single());
            }
        }

        Assert.All(arms.Values, set => Assert.Single(set));
        Assert.Contains(arms.Values, set => set.Contains("canary"));
        Assert.Contains(arms.Values, set => set.Contains("stable"));
    }

    [Fact]
    public async Task ManualControls_AreAppliedAndAudited_AndBadInputIsRefused()
    {
        var (op, client, tenant) = await TenantAsync();
        await CreateAsync(op, "manual", new { minSamplesPerArm = 100000 });

        Assert.Equal(HttpStatusCode.NotFound, (await op.PostAsJsonAsync("/api/v1/deployments/manual/canary", new { release = new { modelRoute = "no-such-route" } })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await op.PostAsJsonAsync("/api/v1/deployments/manual/canary", new { release = new { modelRoute = "sim-twin" }, weight = 150 })).StatusCode);
        await CanaryAsync(op, "manual", "sim-twin", 100);
        Assert.Equal(HttpStatusCode.Conflict, (await op.PostAsJsonAsync("/api/v1/deployments/manual/canary", new { release = new { modelRoute = "sim-twin" } })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await op.PutAsJsonAsync("/api/v1/deployments/manual/canary/weight", new { weight = -1 })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await op.PutAsJsonAsync("/api/v1/deployments/manual/canary/weight", new { weight = 10, expectedRevision = 1 })).StatusCode);

        using (var canary = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "manual", messages = new[] { new { role = "user", content = "x" } } }))
        {
            Assert.Equal("canary", canary.Headers.GetValues("x-platform-arm").Single());
        }

        Assert.Equal(HttpStatusCode.OK, (await op.PostAsJsonAsync("/api/v1/deployments/manual/canary/rollback", new { reason = "looks off" })).StatusCode);
        using (var stable = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "manual", messages = new[] { new { role = "user", content = "x" } } }))
        {
            Assert.Equal("stable", stable.Headers.GetValues("x-platform-arm").Single());
            Assert.Equal("sim-small", stable.Headers.GetValues("x-platform-route").Single());
            Assert.Contains("\"model\":\"manual\"", await stable.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Conflict, (await op.PostAsJsonAsync("/api/v1/deployments/manual/canary/promote", new { })).StatusCode);
        var audit = await JsonAsync(await Host.Admin().GetAsync($"/api/v1/tenants/{tenant}/audit?limit=500"));
        var actions = audit.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Contains("deployment.canary.start", actions);
        Assert.Contains("deployment.canary.rollback", actions);
    }

    [Fact]
    public async Task ViewerCannotOperate_AndOtherTenantsCannotSee()
    {
        var (op, _, tenant) = await TenantAsync();
        await CreateAsync(op, "guarded", new { });
        using var viewer = Host.ClientWithKey((await Host.CreateKeyAsync(tenant, "viewer")).Secret);
        var (otherOp, otherClient, _) = await TenantAsync();

        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/v1/deployments/guarded")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync("/api/v1/deployments/guarded/canary", new { release = new { modelRoute = "sim-twin" } })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await otherOp.GetAsync("/api/v1/deployments/guarded")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await otherClient.PostAsJsonAsync("/v1/chat/completions", new { model = "guarded", messages = new[] { new { role = "user", content = "x" } } })).StatusCode);
    }
}
