using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Budgets;

/// <summary>
/// Budgets across two silo processes of one azure-profile cluster (Azurite): requests reach both silos at once, and one
/// silo is killed while it holds reservations.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BudgetClusterTests(AzuriteFixture azurite) : IAsyncLifetime
{
    /// <summary>Output of the fake upstream's non-streamed answer, and its price here: 5 tokens at $1,000 per million.</summary>
    private const decimal RequestCost = 0.005m;

    private const decimal StreamCost = 0.004m;

    private readonly FakeOpenAiServer _upstream = new();

    public Task InitializeAsync() => _upstream.InitializeAsync();

    public Task DisposeAsync() => _upstream.DisposeAsync();

    private Dictionary<string, string> Settings(string clusterId, bool leases)
    {
        var settings = azurite.SiloSettings(clusterId);
        settings["Platform:Budgets:Leases"] = leases ? "true" : "false";
        settings["Platform:Budgets:ReservationSeconds"] = "3";
        void Route(int i, string name, string upstream, double timeout)
        {
            var at = $"Platform:Models:{i}:";
            settings[at + "Name"] = name;
            settings[at + "Provider"] = "openai";
            settings[at + "UpstreamModel"] = upstream;
            settings[at + "Endpoint"] = _upstream.BaseUrl + "/v1";
            settings[at + "MaxRetries"] = "0";
            settings[at + "TimeoutSeconds"] = timeout.ToString(CultureInfo.InvariantCulture);
            settings[at + "InputPricePerMillion"] = "0";
            settings[at + "OutputPricePerMillion"] = "1000";
        }

        Route(10, "budget-ok", "ok", 10);
        Route(11, "budget-hang", "hang", 60);
        return settings;
    }

    private async Task<(SiloProcess A, SiloProcess B)> StartPairAsync(bool leases = true)
    {
        var clusterId = "b" + Guid.NewGuid().ToString("N")[..10];
        var a = SiloProcess.Start(Settings(clusterId, leases));
        var b = SiloProcess.Start(Settings(clusterId, leases));
        await Task.WhenAll(a.WaitReadyAsync(TimeSpan.FromSeconds(90)), b.WaitReadyAsync(TimeSpan.FromSeconds(90)));
        return (a, b);
    }

    private static async Task<(string Owner, string Client)> TenantAsync(SiloProcess silo, string tenant)
    {
        using var created = await silo.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, "/api/v1/tenants", TestEnvironment.AdminKey, JsonContent.Create(new { id = tenant, displayName = tenant })));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await KeyAsync(silo, tenant, "owner"), await KeyAsync(silo, tenant, "client"));
    }

    private static async Task<string> KeyAsync(SiloProcess silo, string tenant, string role)
    {
        using var response = await silo.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, $"/api/v1/tenants/{tenant}/keys", TestEnvironment.AdminKey, JsonContent.Create(new { name = role, role })));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;
    }

    private static async Task SetAsync(SiloProcess silo, string owner, string tenant, object policy)
    {
        using var response = await silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Put, $"/api/v1/budgets/tenant/{tenant}", owner, JsonContent.Create(policy)));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement> StatusAsync(SiloProcess silo, string owner, string tenant)
    {
        using var response = await silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, $"/api/v1/budgets/tenant/{tenant}", owner));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static StringContent Chat(string model, int maxTokens, bool stream = false) => new(
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Say hello"}],"max_tokens":{{maxTokens}},"stream":{{(stream ? "true" : "false")}}}""",
        Encoding.UTF8,
        "application/json");

    private static async Task<(HttpStatusCode Status, bool Complete)> SendAsync(SiloProcess silo, string key, string model, int maxTokens, bool stream)
    {
        using var response = await silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", key, Chat(model, maxTokens, stream)));
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, !stream || body.Contains("[DONE]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TwoSilos_200ConcurrentRequestsAndStreams_AgainstBudgetsForExactly50_Exactly50Succeed_AndRateLimitsHoldAcrossSilos()
    {
        var (a, b) = await StartPairAsync();
        await using var _ = a;
        await using var __ = b;
        SiloProcess Silo(int i) => i % 2 == 0 ? a : b;

        // Requests: a budget that pays for exactly 50.
        var (owner, client) = await TenantAsync(a, "plain");
        await SetAsync(a, owner, "plain", new { limits = new[] { new { metric = "usd", amount = 50 * RequestCost, window = "month" } } });
        var plain = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => SendAsync(Silo(i), client, "budget-ok", 5, stream: false)));
        Assert.Equal(50, plain.Count(r => r.Status == HttpStatusCode.OK));
        Assert.Equal(150, plain.Count(r => r.Status == HttpStatusCode.TooManyRequests));
        var status = await Poll.UntilAsync(() => StatusAsync(b, owner, "plain"), s => s.GetProperty("settledRequests").GetInt64() == 50, TimeSpan.FromSeconds(10));
        Assert.Equal(50 * RequestCost, status.GetProperty("settledUsd").GetDecimal());
        Assert.Equal(0, status.GetProperty("outstandingReservations").GetInt32());

        // Streams: the same.
        var (streamOwner, streamClient) = await TenantAsync(b, "streams");
        await SetAsync(b, streamOwner, "streams", new { limits = new[] { new { metric = "usd", amount = 50 * StreamCost, window = "day", rolling = true } } });
        var streams = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => SendAsync(Silo(i), streamClient, "budget-ok", 4, stream: true)));
        Assert.Equal(50, streams.Count(r => r.Status == HttpStatusCode.OK && r.Complete));
        var streamed = await Poll.UntilAsync(
            () => StatusAsync(a, streamOwner, "streams"), s => s.GetProperty("outstandingReservations").GetInt32() == 0 && s.GetProperty("leases").GetInt32() == 0, TimeSpan.FromSeconds(10));
        Assert.Equal(50 * StreamCost, streamed.GetProperty("settledUsd").GetDecimal());

        // Requests per window and tokens per window, across both silos: exactly the limit (rolling windows: no boundary during the test).
        var (rpmOwner, rpmClient) = await TenantAsync(a, "rpm");
        await SetAsync(a, rpmOwner, "rpm", new { limits = new[] { new { metric = "requests", amount = 17m, window = "minute", rolling = true } } });
        var rpm = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => SendAsync(Silo(i), rpmClient, "budget-ok", 5, stream: false)));
        Assert.Equal(17, rpm.Count(r => r.Status == HttpStatusCode.OK));

        // Tokens: reservations are exact in our count of the prompt (8 tokens with framing, plus max_tokens 5: 13 per request),
        // so at most 160 / 13 are admitted at once; the upstream then reports 16 each (it counts the prompt as 11), which is
        // what is charged. No more is admitted once the window holds that.
        var (tpmOwner, tpmClient) = await TenantAsync(b, "tpm");
        await SetAsync(b, tpmOwner, "tpm", new { limits = new[] { new { metric = "tokens", amount = 160m, window = "minute", rolling = true } } });
        var tpm = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => SendAsync(Silo(i), tpmClient, "budget-ok", 5, stream: false)));
        Assert.Equal(160 / 13, tpm.Count(r => r.Status == HttpStatusCode.OK));
        using var over = await b.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", tpmClient, Chat("budget-ok", 5)));
        Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);
        Assert.Equal("160", over.Headers.GetValues("x-ratelimit-limit-tokens").Single());
    }

    [Fact]
    public async Task ASiloKilledWhileHoldingReservations_TheyExpireAtTheirWorstCase_AndTheBudgetStaysConsistent()
    {
        // Single reservations only: eight at once are busy enough for a lease, whose expiry the test after this one covers.
        var (a, b) = await StartPairAsync(leases: false);
        await using var _ = a;
        await using var __ = b;
        var (owner, client) = await TenantAsync(a, "killed");
        await SetAsync(a, owner, "killed", new { limits = new[] { new { metric = "usd", amount = 1m, window = "month" } } });

        // Eight requests that hang upstream, all through silo B: B holds their reservations.
        var hanging = Enumerable.Range(0, 8).Select(_ => SendAsync(b, client, "budget-hang", 10, stream: false)).ToList();
        var held = await Poll.UntilAsync(() => StatusAsync(a, owner, "killed"), s => s.GetProperty("outstandingReservations").GetInt32() == 8, TimeSpan.FromSeconds(15));
        Assert.Equal(8, held.GetProperty("outstandingReservations").GetInt32());

        b.KillHard();
        foreach (var request in hanging)
        {
            await Assert.ThrowsAnyAsync<Exception>(() => request);
        }

        // With B silent, its reservations expire (3 s here) and are charged their worst case (10 tokens at $1,000 per million each).
        var expired = await Poll.UntilAsync(
            () => StatusAsync(a, owner, "killed"), s => s.GetProperty("outstandingReservations").GetInt32() == 0 && s.GetProperty("leases").GetInt32() == 0, TimeSpan.FromSeconds(45));
        Assert.Equal(0, expired.GetProperty("outstandingReservations").GetInt32());
        Assert.Equal(8, expired.GetProperty("expiredReservations").GetInt64());
        Assert.Equal(8 * 0.01m, expired.GetProperty("windows")[0].GetProperty("used").GetDecimal());
        Assert.Equal(0m, expired.GetProperty("reserved").GetProperty("usd").GetDecimal());

        // The survivor keeps serving against what is left.
        var after = await SendAsync(a, client, "budget-ok", 5, stream: false);
        Assert.Equal(HttpStatusCode.OK, after.Status);
        var final = await Poll.UntilAsync(() => StatusAsync(a, owner, "killed"), s => s.GetProperty("settledRequests").GetInt64() == 9, TimeSpan.FromSeconds(10));
        Assert.Equal((8 * 0.01m) + RequestCost, final.GetProperty("windows")[0].GetProperty("used").GetDecimal());
    }

    [Fact]
    public async Task TwoSilos_SustainedLoad_IsServedFromLeases_AndTheLimitStillHoldsExactly()
    {
        var (a, b) = await StartPairAsync();
        await using var _ = a;
        await using var __ = b;
        var (owner, client) = await TenantAsync(a, "leased");
        await SetAsync(a, owner, "leased", new
        {
            limits = new object[]
            {
                new { metric = "requests", amount = 600m, window = "month" },
                new { metric = "usd", amount = 100m, window = "month" },
            },
        });

        // 16 clients, each sending one request after another, alternating silos: 800 requests against a limit of 600.
        var leasesSeen = 0;
        using var stop = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var seen = (await StatusAsync(a, owner, "leased")).GetProperty("leases").GetInt32();
                leasesSeen = Math.Max(leasesSeen, seen);
                await Task.Delay(TimeSpan.FromMilliseconds(20), CancellationToken.None);
            }
        });
        var next = -1;
        var results = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async worker =>
        {
            while (Interlocked.Increment(ref next) < 800)
            {
                results.Add((await SendAsync(worker % 2 == 0 ? a : b, client, "budget-ok", 5, stream: false)).Status);
            }
        }));
        await stop.CancelAsync();
        await watcher;

        Assert.True(leasesSeen > 0, "no silo leased a slice of the budget under sustained load");
        Assert.Equal(600, results.Count(r => r == HttpStatusCode.OK));
        Assert.Equal(200, results.Count(r => r == HttpStatusCode.TooManyRequests));

        // Every lease comes back; what was charged is exactly what was served.
        var status = await Poll.UntilAsync(
            () => StatusAsync(b, owner, "leased"),
            s => s.GetProperty("outstandingReservations").GetInt32() == 0 && s.GetProperty("leases").GetInt32() == 0,
            TimeSpan.FromSeconds(15));
        Assert.Equal(600, status.GetProperty("settledRequests").GetInt64());
        Assert.Equal(600 * RequestCost, status.GetProperty("settledUsd").GetDecimal());
        Assert.Equal(0m, status.GetProperty("reserved").GetProperty("usd").GetDecimal());
        var total = await Poll.UntilAsync(
            async () => JsonDocument.Parse(await (await a.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/api/v1/budgets/report?groupBy=model", owner)))
                .Content.ReadAsStringAsync()).RootElement.GetProperty("total").GetProperty("costUsd").GetDecimal(),
            usd => usd == 600 * RequestCost,
            TimeSpan.FromSeconds(10));
        Assert.Equal(600 * RequestCost, total);
    }

    [Fact]
    public async Task ASiloKilledWhileHoldingALease_ItsSliceExpiresChargedInFull_AndTheLimitHolds()
    {
        var (a, b) = await StartPairAsync();
        await using var _ = a;
        await using var __ = b;
        var (owner, client) = await TenantAsync(a, "leasekill");
        await SetAsync(a, owner, "leasekill", new { limits = new[] { new { metric = "requests", amount = 1000m, window = "month" } } });

        // Load through B until B holds a lease, then kill B in the middle of it.
        using var stop = new CancellationTokenSource();
        var served = 0;
        var load = Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if ((await SendAsync(b, client, "budget-ok", 5, stream: false)).Status == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref served);
                    }
                }
                catch (HttpRequestException)
                {
                    return;
                }
            }
        }));
        var leased = await Poll.UntilAsync(() => StatusAsync(a, owner, "leasekill"), s => s.GetProperty("leases").GetInt32() > 0, TimeSpan.FromSeconds(20));
        Assert.True(leased.GetProperty("leases").GetInt32() > 0);
        b.KillHard();
        await stop.CancelAsync();
        await load;

        // The slice expires (3 s here) and is charged in full: never less than B served; nothing stays reserved.
        var expired = await Poll.UntilAsync(
            () => StatusAsync(a, owner, "leasekill"),
            s => s.GetProperty("leases").GetInt32() == 0 && s.GetProperty("outstandingReservations").GetInt32() == 0,
            TimeSpan.FromSeconds(45));
        var used = expired.GetProperty("windows")[0].GetProperty("used").GetDecimal();
        Assert.InRange(used, (decimal)Volatile.Read(ref served), 1000m);
        Assert.Equal(0m, expired.GetProperty("windows")[0].GetProperty("reserved").GetDecimal());

        // The survivor serves exactly what is left, and no more.
        var left = (int)(1000m - used);
        var after = await Task.WhenAll(Enumerable.Range(0, left + 5).Select(_ => SendAsync(a, client, "budget-ok", 5, stream: false)));
        Assert.Equal(left, after.Count(r => r.Status == HttpStatusCode.OK));
    }
}
