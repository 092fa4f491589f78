using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Platform.Hosting;
using Platform.Tenants;

namespace Platform.Benchmarks;

/// <summary>
/// Cost of one audit append as the log grows: an embedded silo (SQLite storage), one tenant's log appended to
/// <c>count</c> times in sequence, each append timed. Compares the appends around number 10 with those around
/// number <c>count</c> (windows of 64, one segment, so a segment seal is inside each). Baseline in the same run: the
/// write the log made per append before segments, one record holding every entry, timed at 10 and <c>count</c> entries.
/// usage: dotnet run -c Release --project deploy/bench/Platform.Benchmarks -- audit [count]
/// </summary>
public static class AuditAppendBenchmark
{
    private const int Window = 64;

    public static async Task RunAsync(int count)
    {
        var dir = Path.Combine(Path.GetTempPath(), "platform-audit-" + Guid.NewGuid().ToString("N"));
        using var host = await EmbeddedSilo.StartAsync(dir, 21112, 31001);
        var client = host.Services.GetRequiredService<IClusterClient>();
        var actor = new Actor("key_bench", "bench", Role.Owner, "req_bench");

        AuditRecord Record(int i) => new(actor, "prompt.version.create", $"prompt/bench@{i}", null,
            $"hash=sha256:{i:x64}; message=benchmark change number {i} with a commit message of ordinary length", Guid.NewGuid().ToString("N"));

        // Warm-up on another tenant (JIT, connections, a few seals).
        var warm = client.GetGrain<IAuditLogGrain>("bench-warmup");
        for (var i = 0; i < 300; i++)
        {
            await warm.AppendAsync(Record(i));
        }

        var log = client.GetGrain<IAuditLogGrain>("bench");
        var times = new double[count + 1];
        for (var i = 1; i <= count; i++)
        {
            var clock = Stopwatch.GetTimestamp();
            await log.AppendAsync(Record(i));
            times[i] = Stopwatch.GetElapsedTime(clock).TotalMilliseconds;
        }

        var early = times.Skip(1).Take(Window).ToArray();
        var late = times.Skip(count - Window + 1).Take(Window).ToArray();

        // Baseline: the old per-append write of one record holding the whole log.
        var storage = host.Services.GetRequiredKeyedService<IGrainStorage>(PlatformStorage.Default);
        async Task<double> WholeLogWriteMsAsync(int entries)
        {
            var state = new AuditLogState();
            for (var i = 1; i <= entries; i++)
            {
                var r = Record(i);
                state.Entries.Add(new AuditEntry(i, DateTimeOffset.UtcNow, "baseline", r.Actor.KeyId, r.Actor.TenantId, "owner", r.Action, r.Target, null, r.After, "req", r.EntryId));
            }

            var grainState = new GrainState<AuditLogState>(state);
            var id = GrainId.Create("auditlog", $"baseline-{entries}");
            await storage.WriteStateAsync("audit", id, grainState);
            var samples = new double[20];
            for (var s = 0; s < samples.Length; s++)
            {
                var clock = Stopwatch.GetTimestamp();
                await storage.WriteStateAsync("audit", id, grainState);
                samples[s] = Stopwatch.GetElapsedTime(clock).TotalMilliseconds;
            }

            return Median(samples);
        }

        var baseSmall = await WholeLogWriteMsAsync(10);
        var baseLarge = await WholeLogWriteMsAsync(count);

        Console.WriteLine($"| audit append (segmented log) | appends 1-{Window} (around #10) | appends {count - Window + 1}-{count} (around #{count}) | ratio |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| median ms | {Median(early):F3} | {Median(late):F3} | {Median(late) / Median(early):F2}x |");
        Console.WriteLine($"| mean ms (a segment seal included) | {early.Average():F3} | {late.Average():F3} | {late.Average() / early.Average():F2}x |");
        Console.WriteLine($"| append #10 / #{count} ms | {times[10]:F3} | {times[count]:F3} | {times[count] / times[10]:F2}x |");
        Console.WriteLine($"| baseline: one record holding the whole log, median write ms | 10 entries: {baseSmall:F3} | {count} entries: {baseLarge:F3} | {baseLarge / baseSmall:F2}x |");

        await host.StopAsync();
        Directory.Delete(dir, recursive: true);
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
