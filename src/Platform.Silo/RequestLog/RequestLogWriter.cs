using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Platform.RequestLog;
using Platform.Silo.Hosting;
using Platform.Silo.Observability;

namespace Platform.Silo.RequestLog;

/// <summary>
/// The silo's request log writer. The response path hands it one record (<see cref="TryEnqueue"/>: a bounded channel's
/// <c>TryWrite</c>, never a wait, a lock or a grain call); one loop takes rows out in batches of up to
/// <c>BatchSize</c> or whatever arrived within <c>FlushMilliseconds</c> and writes each batch to the store. A full queue
/// drops the row and counts it (<c>platform.requestlog.rows_dropped</c>, and a warning at most every ten seconds), never
/// silently; a failed batch is retried with backoff while new rows queue (and, past the capacity, are dropped and counted).
/// Stopping drains the queue into the store before the store is closed.
/// </summary>
public sealed partial class RequestLogWriter : IHostedService, IDisposable
{
    private static readonly Counter<long> RowsWritten = PlatformMeter.Meter.CreateCounter<long>(
        "platform.requestlog.rows_written", "{row}", "Request log rows committed to the store.");

    private static readonly Counter<long> RowsDropped = PlatformMeter.Meter.CreateCounter<long>(
        "platform.requestlog.rows_dropped", "{row}", "Request log rows dropped because the writer's queue was full.");

    private static readonly ConcurrentDictionary<RequestLogWriter, byte> Live = new();

    private static readonly TimeSpan DropLogInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly Channel<RequestRecord> _queue;
    private readonly IRequestLogStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<RequestLogWriter> _logger;
    private readonly int _batchSize;
    private readonly TimeSpan _flush;
    private readonly CancellationTokenSource _abandon = new();
    private Task? _loop;
    private long _written;
    private long _dropped;
    private long _droppedUnreported;
    private long _lastDropLog = long.MinValue;

    static RequestLogWriter() => PlatformMeter.Meter.CreateObservableGauge(
        "platform.requestlog.queue_depth", () => Live.Keys.Sum(w => (long)w.QueueDepth), "{row}", "Request log rows accepted and not yet written.");

    public RequestLogWriter(IRequestLogStore store, IOptions<PlatformOptions> options, TimeProvider time, ILogger<RequestLogWriter> logger)
    {
        var settings = options.Value.RequestLog;
        _store = store;
        _time = time;
        _logger = logger;
        _batchSize = settings.BatchSize;
        _flush = TimeSpan.FromMilliseconds(settings.FlushMilliseconds);

        // Wait (not DropWrite) so that TryWrite answers false when full and the drop can be counted here.
        _queue = Channel.CreateBounded<RequestRecord>(new BoundedChannelOptions(settings.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        Live[this] = 0;
    }

    /// <summary>Rows committed to the store by this writer.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Rows this writer dropped because its queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int QueueDepth => _queue.Reader.Count;

    /// <summary>Hands a row to the writer; false (and counted) when the queue is full or the writer has stopped.</summary>
    public bool TryEnqueue(RequestRecord record)
    {
        if (_queue.Writer.TryWrite(record))
        {
            return true;
        }

        Interlocked.Increment(ref _dropped);
        Interlocked.Increment(ref _droppedUnreported);
        RowsDropped.Add(1);
        ReportDrops();
        return false;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Drains the queue into the store; if the host's stop deadline passes first, what is left is dropped and counted.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        if (_loop is null)
        {
            return;
        }

        using var abandon = cancellationToken.Register(() => _abandon.Cancel());
        await _loop.ConfigureAwait(false);
    }

    public void Dispose()
    {
        Live.TryRemove(this, out _);
        _queue.Writer.TryComplete();
        _abandon.Dispose();
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<RequestRecord>(_batchSize);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await FillAsync(reader, batch).ConfigureAwait(false);
            await WriteAsync(batch).ConfigureAwait(false);
            batch.Clear();
        }
    }

    /// <summary>Takes rows until the batch is full or <c>FlushMilliseconds</c> have passed since the first one.</summary>
    private async Task FillAsync(ChannelReader<RequestRecord> reader, List<RequestRecord> batch)
    {
        var deadline = _time.GetTimestamp() + (long)(_flush.TotalSeconds * _time.TimestampFrequency);
        while (true)
        {
            while (batch.Count < _batchSize && reader.TryRead(out var row))
            {
                batch.Add(row);
            }

            var remaining = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
            if (batch.Count >= _batchSize || remaining <= TimeSpan.Zero || reader.Completion.IsCompleted)
            {
                return;
            }

            using var wait = new CancellationTokenSource(remaining, _time);
            try
            {
                if (!await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task WriteAsync(List<RequestRecord> batch)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _store.WriteAsync(batch).ConfigureAwait(false);
                Interlocked.Add(ref _written, batch.Count);
                RowsWritten.Add(batch.Count);
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogWriteFailed(_logger, batch.Count, attempt, ex.GetType().Name, ex.Message);
            }

            try
            {
                await Task.Delay(delay, _time, _abandon.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The host stops and will not wait longer: these rows are lost, and said so.
                Interlocked.Add(ref _dropped, batch.Count);
                RowsDropped.Add(batch.Count);
                LogAbandoned(_logger, batch.Count);
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    private void ReportDrops()
    {
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastDropLog);
        if (last != long.MinValue && _time.GetElapsedTime(last, now) < DropLogInterval)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _lastDropLog, now, last) == last)
        {
            LogDropped(_logger, Interlocked.Exchange(ref _droppedUnreported, 0), _queue.Reader.Count);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request log queue full: {Count} rows dropped since the last report (queue depth {Depth})")]
    private static partial void LogDropped(ILogger logger, long count, int depth);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request log batch of {Count} rows not written (attempt {Attempt}, retrying): {Error}: {Message}")]
    private static partial void LogWriteFailed(ILogger logger, int count, int attempt, string error, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request log batch of {Count} rows dropped: the host stopped while the store kept failing")]
    private static partial void LogAbandoned(ILogger logger, int count);
}
