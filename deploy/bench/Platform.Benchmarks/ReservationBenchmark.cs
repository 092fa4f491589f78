using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Budgets;
using Platform.Silo.Gateway;
using Platform.Silo.Hosting;
using Platform.Tenants;

namespace Platform.Benchmarks;

/// <summary>
/// Reservations per second on one tenant's budget grain through one embedded silo (SQLite storage): <c>concurrency</c>
/// requests in flight, each reserving then settling. Two designs in the same run, interleaved:
/// <list type="bullet">
/// <item><c>per-request</c>: one grain call to reserve and one to settle per request (the baseline);</item>
/// <item><c>group-commit</c>: the gateway's <see cref="BudgetAgent"/>, which batches what queues while a call is in flight;</item>
/// <item><c>leased</c>: the agent with leases: once the scope is busy, requests are admitted from this silo's slice and the
/// grain hears of them in one sync every 100 ms.</item>
/// </list>
/// usage: dotnet run -c Release --project deploy/bench/Platform.Benchmarks -- budget [requests] [concurrency]
/// </summary>
public static class ReservationBenchmark
{
    public static async Task RunAsync(int requests, int concurrency)
    {
        var dir = Path.Combine(Path.GetTempPath(), "platform-budget-" + Guid.NewGuid().ToString("N"));
        using var host = await EmbeddedSilo.StartAsync(dir, 21113, 31002);
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var options = Microsoft.Extensions.Options.Options.Create(new PlatformOptions());
        await using var agent = new BudgetAgent(grains, options, TimeProvider.System, NullLogger<BudgetAgent>.Instance);
        var policy = new BudgetPolicy([new BudgetLimit(BudgetMetric.Usd, 1_000_000, BudgetWindow.Day), new BudgetLimit(BudgetMetric.Requests, 1_000_000_000, BudgetWindow.Minute)]);
        var actor = new Actor("key_bench", "bench", Role.Owner, "req_bench");
        var dims = new SpendDimensions("key_bench", null, "bench", null);
        var worst = new BudgetAmount(0.001m, 100, 1);

        async Task<double> PerRequestAsync(string tenant)
        {
            var grain = grains.GetGrain<IBudgetGrain>(BudgetKeys.Tenant(tenant));
            return await RunAsync(requests, concurrency, async () =>
            {
                var id = Guid.NewGuid().ToString("N");
                var result = await grain.ApplyAsync(new BudgetBatch("bench", 60, [], [new ReserveOperation(id, worst, dims)]));
                if (!result.Reserves[0].Granted)
                {
                    throw new InvalidOperationException("refused");
                }

                await grain.ApplyAsync(new BudgetBatch("bench", 60, [new SettleOperation(id, new BudgetAmount(0.0005m, 50, 1), dims)], []));
            });
        }

        async Task<double> GroupCommitAsync(string tenant)
        {
            var key = BudgetKeys.Tenant(tenant);
            return await RunAsync(requests, concurrency, async () =>
            {
                var id = Guid.NewGuid().ToString("N");
                var result = await agent.ReserveAsync(key, new ReserveOperation(id, worst, dims));
                if (!result.Granted)
                {
                    throw new InvalidOperationException("refused");
                }

                agent.Settle(key, new SettleOperation(id, new BudgetAmount(0.0005m, 50, 1), dims));
            });
        }

        async Task<double> LeasedAsync(string tenant)
        {
            var key = BudgetKeys.Tenant(tenant);
            var usage = new BudgetAmount(0.0005m, 50, 1);
            return await RunAsync(requests, concurrency, async () =>
            {
                if (agent.TryLease(key, worst) is { } ticket)
                {
                    agent.Finish(ticket, usage, dims);
                    await Task.Yield();
                    return;
                }

                var id = Guid.NewGuid().ToString("N");
                var result = await agent.ReserveAsync(key, new ReserveOperation(id, worst, dims));
                if (!result.Granted)
                {
                    throw new InvalidOperationException("refused");
                }

                agent.ConsiderLease(key, worst, result.Headroom);
                agent.Settle(key, new SettleOperation(id, usage, dims));
            });
        }

        var rounds = 3;
        var perRequest = new List<double>();
        var grouped = new List<double>();
        var leased = new List<double>();
        for (var round = 0; round <= rounds; round++)
        {
            // Round 0 warms up (JIT, storage); each round uses fresh tenants so state sizes match.
            foreach (var tenant in new[] { $"p{round}", $"g{round}", $"l{round}" })
            {
                await grains.GetGrain<IBudgetGrain>(BudgetKeys.Tenant(tenant)).SetPolicyAsync(policy, actor);
            }

            var p = await PerRequestAsync($"p{round}");
            var g = await GroupCommitAsync($"g{round}");
            var l = await LeasedAsync($"l{round}");
            if (round > 0)
            {
                perRequest.Add(p);
                grouped.Add(g);
                leased.Add(l);
                Console.WriteLine($"round {round}: per-request {p,10:0}/s   group-commit {g,10:0}/s   leased {l,10:0}/s");
            }
        }

        double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        Console.WriteLine();
        Console.WriteLine($"## Reservations on one tenant's budget grain, one silo ({Environment.ProcessorCount} cores, {requests} requests, {concurrency} in flight, median of {rounds})");
        Console.WriteLine();
        Console.WriteLine("| design | reservations/s (reserve + settle) |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| per-request grain calls (baseline) | {Median(perRequest):0} |");
        Console.WriteLine($"| group commit (BudgetAgent) | {Median(grouped):0} |");
        Console.WriteLine($"| leased slices (BudgetAgent with leases) | {Median(leased):0} |");
        Console.WriteLine();
        Console.WriteLine($"- group commit / per-request: {Median(grouped) / Median(perRequest):0.00}x");
        Console.WriteLine($"- leased / per-request: {Median(leased) / Median(perRequest):0.00}x; leased / group commit: {Median(leased) / Median(grouped):0.00}x");
        await host.StopAsync();
        Directory.Delete(dir, recursive: true);
    }

    private static async Task<double> RunAsync(int requests, int concurrency, Func<Task> request)
    {
        var next = 0;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= requests)
            {
                await request();
            }
        }));
        return requests / watch.Elapsed.TotalSeconds;
    }
}
