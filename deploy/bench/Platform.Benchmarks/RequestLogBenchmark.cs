using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Platform.RequestLog;
using Platform.Silo.Hosting;
using Platform.Silo.RequestLog;

namespace Platform.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release -- reqlog [rows]</c>: sustained ingestion through the real writer into a DuckDB file (rows per
/// second, with drops), then the aggregate "cost by model by hour" over the whole table (default one million rows).
/// </summary>
public static class RequestLogBenchmark
{
    public static async Task RunAsync(int rows)
    {
        var dir = Path.Combine(Path.GetTempPath(), "reqlog-bench-" + Guid.NewGuid().ToString("N"));
        var store = new DuckDbRequestLogStore(dir);
        try
        {
            var options = Options.Create(new PlatformOptions());
            var writer = new RequestLogWriter(store, options, TimeProvider.System, NullLogger<RequestLogWriter>.Instance);
            await writer.StartAsync(default);
            var start = new DateTime(2025, 6, 1, 0, 0, 0, DateTimeKind.Utc);
            string[] models = ["gpt-4o", "gpt-4o-mini", "sim-small", "sim-large", "embed"];
            var clock = Stopwatch.StartNew();
            long offered = 0;

            // Offered as fast as the producer can (far above 20,000/s); a full queue spins rather than drops, so the rate is the store's.
            for (var i = 0; i < rows; i++)
            {
                var row = new RequestRecord
                {
                    Id = "req_" + i.ToString("D9", System.Globalization.CultureInfo.InvariantCulture),
                    TenantId = i % 10 == 0 ? "other" : "acme",
                    At = start.AddMilliseconds(i * 100L),
                    Operation = RequestOperations.Chat,
                    KeyId = "key" + (i % 7),
                    EndUser = "user" + (i % 1000),
                    RequestedModel = models[i % models.Length],
                    ServedRoute = models[i % models.Length],
                    Status = i % 50 == 0 ? 502 : 200,
                    Success = i % 50 != 0,
                    LatencyMs = 50 + (i % 997),
                    InputTokens = 100 + (i % 13),
                    OutputTokens = 20 + (i % 17),
                    CostNanoUsd = 1_000 + (i % 10_000),
                    Attempts = 1,
                };
                offered++;
                while (!writer.TryEnqueue(row))
                {
                    await Task.Yield();
                }
            }

            await writer.StopAsync(default);
            clock.Stop();
            Console.WriteLine($"ingest: {rows:N0} rows in {clock.Elapsed.TotalSeconds:F2} s = {rows / clock.Elapsed.TotalSeconds:N0} rows/s "
                + $"(written {writer.Written:N0}; full-queue retries counted as drops: {writer.Dropped:N0})");
            writer.Dispose();

            var query = new AggregateQuery("acme", start, start.AddYears(1), AggregateGroup.Model, AggregateBucket.Hour);
            var timings = new List<double>();
            IReadOnlyList<RequestAggregate> result = [];
            for (var run = 0; run < 6; run++)
            {
                var t = Stopwatch.StartNew();
                result = await store.AggregateAsync(query);
                timings.Add(t.Elapsed.TotalMilliseconds);
            }

            timings.RemoveAt(0);
            timings.Sort();
            Console.WriteLine($"aggregate cost by model by hour (with p50/p95/p99) over {rows:N0} rows ({rows * 9 / 10:N0} of the tenant): "
                + $"{result.Count} groups; median {timings[timings.Count / 2]:F1} ms, max {timings[^1]:F1} ms (first run excluded)");
        }
        finally
        {
            store.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }
}
