using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Budgets;

/// <summary>An embedded silo process restarted on the same data directory keeps its budgets' windows and spend.</summary>
public sealed class BudgetRestartTests
{
    private static StringContent Chat() => new(
        """{"model":"sim-small","max_tokens":25,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");

    private static async Task<string> OwnerKeyAsync(SiloProcess silo)
    {
        using var response = await silo.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, "/api/v1/tenants/demo/keys", TestEnvironment.AdminKey, JsonContent.Create(new { name = "owner", role = "owner" })));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;
    }

    private static async Task<JsonElement> StatusAsync(SiloProcess silo, string owner)
    {
        using var response = await silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/api/v1/budgets/tenant/demo", owner));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Fact]
    public async Task ASiloRestartedGracefullyOrKilled_KeepsTheWindowAndTheSpend_AndNoReservationStaysHeld()
    {
        var data = TestEnvironment.NewTempDirectory("budget-restart");
        var settings = SiloProcess.EmbeddedSettings(data);
        settings["Platform:Budgets:ReservationSeconds"] = "2";
        string owner;
        var spent = 0m;
        await using (var first = SiloProcess.Start(settings))
        {
            await first.WaitReadyAsync(TimeSpan.FromSeconds(60));
            owner = await OwnerKeyAsync(first);
            using var set = await first.Http.SendAsync(SiloProcess.Request(HttpMethod.Put, "/api/v1/budgets/tenant/demo", owner,
                JsonContent.Create(new { limits = new[] { new { metric = "usd", amount = 1m, window = "month" } } })));
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
            for (var i = 0; i < 3; i++)
            {
                using var response = await first.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", TestEnvironment.DemoKey, Chat()));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                spent += decimal.Parse(response.Headers.GetValues("x-platform-cost-usd").Single(), CultureInfo.InvariantCulture);
            }

            Assert.Equal(0, await first.TerminateAsync(TimeSpan.FromSeconds(30)));
        }

        await using (var second = SiloProcess.Start(settings))
        {
            await second.WaitReadyAsync(TimeSpan.FromSeconds(60));
            var status = await StatusAsync(second, owner);
            Assert.Equal(spent, status.GetProperty("windows")[0].GetProperty("used").GetDecimal());
            Assert.Equal(0, status.GetProperty("outstandingReservations").GetInt32());

            // Killed right after answering: the settlement may not be stored, but its reservation is, and expires at its worst case.
            using var response = await second.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", TestEnvironment.DemoKey, Chat()));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            spent += decimal.Parse(response.Headers.GetValues("x-platform-cost-usd").Single(), CultureInfo.InvariantCulture);
            second.KillHard();
        }

        await using var third = SiloProcess.Start(settings);
        await third.WaitReadyAsync(TimeSpan.FromSeconds(60));
        var after = await Poll.UntilAsync(() => StatusAsync(third, owner), s => s.GetProperty("outstandingReservations").GetInt32() == 0 && s.GetProperty("leases").GetInt32() == 0, TimeSpan.FromSeconds(20));
        Assert.Equal(0, after.GetProperty("outstandingReservations").GetInt32());
        Assert.Equal(0m, after.GetProperty("reserved").GetProperty("usd").GetDecimal());

        // Never less than was spent (exactly it when the settlement was stored; its worst case, the same here, when not).
        Assert.Equal(spent, after.GetProperty("windows")[0].GetProperty("used").GetDecimal());
    }

    [Fact]
    public async Task ASiloStoppedGracefullyWhileHoldingALease_ReturnsIt_SoTheSpendIsWhatItsRequestsCost()
    {
        var data = TestEnvironment.NewTempDirectory("budget-lease-stop");
        var settings = SiloProcess.EmbeddedSettings(data);
        settings["Platform:Budgets:ReservationSeconds"] = "2";
        string owner;
        var spent = 0m;
        await using (var first = SiloProcess.Start(settings))
        {
            await first.WaitReadyAsync(TimeSpan.FromSeconds(60));
            owner = await OwnerKeyAsync(first);
            using var set = await first.Http.SendAsync(SiloProcess.Request(HttpMethod.Put, "/api/v1/budgets/tenant/demo", owner,
                JsonContent.Create(new { limits = new[] { new { metric = "usd", amount = 100m, window = "month" } } })));
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);

            // Traffic busy enough for a lease runs until the silo stops under it.
            using var stop = new CancellationTokenSource();
            var costs = new System.Collections.Concurrent.ConcurrentBag<decimal>();
            var loops = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        using var response = await first.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", TestEnvironment.DemoKey, Chat()));
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            costs.Add(decimal.Parse(response.Headers.GetValues("x-platform-cost-usd").Single(), CultureInfo.InvariantCulture));
                        }
                    }
                    catch (HttpRequestException)
                    {
                        return;
                    }
                }
            })).ToArray();

            var leased = await Poll.UntilAsync(() => StatusAsync(first, owner), s => s.GetProperty("leases").GetInt32() > 0, TimeSpan.FromSeconds(20));
            Assert.True(leased.GetProperty("leases").GetInt32() > 0, "no lease was taken");
            var terminated = first.TerminateAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, await terminated);
            await stop.CancelAsync();
            await Task.WhenAll(loops);
            spent = costs.Sum();
        }

        await using var second = SiloProcess.Start(settings);
        await second.WaitReadyAsync(TimeSpan.FromSeconds(60));
        var after = await Poll.UntilAsync(() => StatusAsync(second, owner),
            s => s.GetProperty("outstandingReservations").GetInt32() == 0 && s.GetProperty("leases").GetInt32() == 0, TimeSpan.FromSeconds(20));
        Assert.Equal(0, after.GetProperty("leases").GetInt32());

        // A graceful stop returns the unused slice: nothing is charged that no request cost.
        Assert.Equal(spent, after.GetProperty("windows")[0].GetProperty("used").GetDecimal());
        Assert.Equal(0, after.GetProperty("expiredReservations").GetInt32());
    }
}
