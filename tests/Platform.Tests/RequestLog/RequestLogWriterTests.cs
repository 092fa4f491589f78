using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Platform.RequestLog;
using Platform.Silo.Hosting;
using Platform.Silo.RequestLog;
using static Platform.Tests.RequestLog.RequestLogTestRows;

namespace Platform.Tests.RequestLog;

public sealed class RequestLogWriterTests
{
    /// <summary>A store that records batches and can be held shut or made to fail (a stand-in for one class's unit test).</summary>
    private sealed class RecordingStore : IRequestLogStore
    {
        public readonly List<IReadOnlyList<RequestRecord>> Batches = [];
        public TaskCompletionSource Gate { get; set; } = CompletedGate();
        public int FailuresLeft;

        public int Rows
        {
            get
            {
                lock (Batches)
                {
                    return Batches.Sum(b => b.Count);
                }
            }
        }

        public async Task WriteAsync(IReadOnlyList<RequestRecord> batch, CancellationToken cancellationToken = default)
        {
            await Gate.Task;
            if (Interlocked.Decrement(ref FailuresLeft) >= 0)
            {
                throw new IOException("store down");
            }

            lock (Batches)
            {
                Batches.Add([.. batch]);
            }
        }

        private static TaskCompletionSource CompletedGate()
        {
            var gate = new TaskCompletionSource();
            gate.SetResult();
            return gate;
        }

        public Task<RequestLogPage> ListAsync(RequestLogQuery query, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<RequestRecord?> GetAsync(string tenantId, string id, DateTime notBefore, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<IReadOnlyList<RequestAggregate>> AggregateAsync(AggregateQuery query, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<long> DeleteOlderThanAsync(string tenantId, DateTime cutoff, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<long> EraseUserAsync(string tenantId, string endUser, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    private static RequestLogWriter Writer(IRequestLogStore store, int capacity = 1000, int batch = 100, int flushMs = 50) => new(
        store,
        Options.Create(new PlatformOptions { RequestLog = new RequestLogOptions { QueueCapacity = capacity, BatchSize = batch, FlushMilliseconds = flushMs } }),
        TimeProvider.System,
        NullLogger<RequestLogWriter>.Instance);

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 10 s");
            await Task.Yield();
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task FullQueue_DropsAndCountsInTheMetric()
    {
        long dropped = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Platform" && instrument.Name == "platform.requestlog.rows_dropped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref dropped, value));
        listener.Start();

        var store = new RecordingStore { Gate = new TaskCompletionSource() };
        using var writer = Writer(store, capacity: 10, batch: 5);
        await writer.StartAsync(default);

        var accepted = Enumerable.Range(0, 40).Count(i => writer.TryEnqueue(Row("acme", i)));

        // The writer may already hold one batch (5) out of the queue while the store is shut: at most 15 fit.
        Assert.InRange(accepted, 10, 15);
        Assert.Equal(40 - accepted, writer.Dropped);
        Assert.True(Interlocked.Read(ref dropped) >= 40 - accepted);

        store.Gate.SetResult();
        await writer.StopAsync(default);
        Assert.Equal(accepted, store.Rows);
        Assert.Equal(accepted, writer.Written);
    }

    [Fact]
    public async Task Rows_AreWrittenInBatchesOfAtMostBatchSize()
    {
        var store = new RecordingStore { Gate = new TaskCompletionSource() };
        using var writer = Writer(store, batch: 100, flushMs: 60_000);
        await writer.StartAsync(default);
        for (var i = 0; i < 250; i++)
        {
            Assert.True(writer.TryEnqueue(Row("acme", i)));
        }

        store.Gate.SetResult();
        await Until(() => store.Rows >= 200);
        Assert.All(store.Batches, b => Assert.Equal(100, b.Count));

        // The last 50 wait for the flush interval (a minute here), or for the stop, which drains them.
        await writer.StopAsync(default);
        Assert.Equal(250, store.Rows);
        Assert.Equal(Enumerable.Range(0, 250).Select(i => $"req_acme_{i:D6}"), store.Batches.SelectMany(b => b).Select(r => r.Id));
    }

    [Fact]
    public async Task PartialBatch_IsFlushedAfterTheInterval()
    {
        var store = new RecordingStore();
        using var writer = Writer(store, batch: 1000, flushMs: 20);
        await writer.StartAsync(default);

        writer.TryEnqueue(Row("acme", 1));

        await Until(() => store.Rows == 1);
        await writer.StopAsync(default);
    }

    [Fact]
    public async Task FailedBatch_IsRetriedUntilItLands()
    {
        var store = new RecordingStore { FailuresLeft = 2 };
        using var writer = Writer(store, batch: 10, flushMs: 1);
        await writer.StartAsync(default);

        writer.TryEnqueue(Row("acme", 1));

        await Until(() => store.Rows == 1);
        Assert.Equal(1, writer.Written);
        Assert.Equal(0, writer.Dropped);
        await writer.StopAsync(default);
    }
}
