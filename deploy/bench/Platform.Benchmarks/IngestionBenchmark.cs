using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Streams;
using Platform.Deployments;
using Platform.Hosting;

namespace Platform.Benchmarks;

/// <summary>
/// End-to-end monitor ingestion: an embedded silo (SQLite storage, memory streams), inference events published on
/// the deployment's stream from the silo's own client, aggregated by the monitor grain. Reports events/s and the
/// managed heap and working set before and after, in rounds, so memory growth shows.
/// usage: dotnet run -c Release --project deploy/bench/Platform.Benchmarks -- ingest [events-per-round] [rounds]
/// </summary>
public static class IngestionBenchmark
{
    /// <summary>The memory stream queue holds 16,384 messages; a full queue means the consumer is behind: back off.</summary>
    private static async Task PublishAsync(IAsyncStream<InferenceEvent> stream, InferenceEvent e)
    {
        while (true)
        {
            try
            {
                await stream.OnNextAsync(e);
                return;
            }
            catch (InvalidOperationException)
            {
                await Task.Delay(1);
            }
        }
    }

    public static async Task RunAsync(int perRound, int rounds)
    {
        var dir = Path.Combine(Path.GetTempPath(), "platform-ingest-" + Guid.NewGuid().ToString("N"));
        using var host = await EmbeddedSilo.StartAsync(dir, 21111, 31000);
        var client = host.Services.GetRequiredService<IClusterClient>();
        var key = "bench/ingest";
        var stream = client.GetStreamProvider(PlatformStorage.Streams).GetStream<InferenceEvent>(StreamId.Create(DeploymentStreams.Inference, key));
        var monitor = client.GetGrain<IMonitorGrain>(key);

        Console.WriteLine($"| round | events | seconds | events/s | managed heap MB | working set MB |");
        Console.WriteLine($"|---|---|---|---|---|---|");
        long expected = 0;
        for (var round = 1; round <= rounds; round++)
        {
            var clock = Stopwatch.StartNew();
            var inflight = new List<Task>(256);
            for (var i = 0; i < perRound; i++)
            {
                var e = new InferenceEvent("bench", "ingest", i % 10 == 0 ? Arms.Canary : Arms.Stable, 1, "sim-small", DateTimeOffset.UtcNow,
                    1 + (i % 100), null, i % 50 != 0, 200, 20, 10, 0.00001m, 0.9, 0);
                inflight.Add(PublishAsync(stream, e));
                if (inflight.Count == 256)
                {
                    await Task.WhenAll(inflight);
                    inflight.Clear();
                }
            }

            await Task.WhenAll(inflight);
            expected += perRound;
            while ((await monitor.GetReportAsync()).EventsIngested < expected)
            {
                await Task.Delay(5);
            }

            clock.Stop();

            // Delivered events stay in the stream cache for DataMinTimeInCache (2 s); measure after that.
            await Task.Delay(TimeSpan.FromSeconds(3));
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var heap = GC.GetTotalMemory(true) / 1024.0 / 1024.0;
            var ws = Process.GetCurrentProcess().WorkingSet64 / 1024.0 / 1024.0;
            Console.WriteLine($"| {round} | {perRound} | {clock.Elapsed.TotalSeconds:F2} | {perRound / clock.Elapsed.TotalSeconds:F0} | {heap:F1} | {ws:F0} |");
        }

        await host.StopAsync();
        Directory.Delete(dir, recursive: true);
    }
}
