using System.IO.Pipelines;
using Microsoft.Extensions.AI;

namespace Platform.Silo.Gateway;

/// <summary>
/// An open stream whose first update already arrived (so the client can be answered), and its idle timeout: a wait
/// for the provider's next update that lasts longer than the route's timeout cancels the call, so a stream that stalls
/// ends with an error instead of hanging. Only those waits count, never the time spent writing to the client: a slow
/// client is not a slow provider.
/// </summary>
/// <remarks>
/// The timeout is a timestamp and one timer per stream that re-arms itself, not a <see cref="CancellationTokenSource.CancelAfter(TimeSpan)"/>
/// per update: restarting a timer twice per chunk took the timer queue's lock 80 times for a 40-chunk stream.
/// </remarks>
public sealed class OpenStream : IAsyncDisposable
{
    /// <summary>
    /// Most bytes held back for the client while further updates are already at hand. Chunks that arrived from the
    /// provider together go to the client in one flush; a chunk is never held back waiting for one that has not arrived.
    /// </summary>
    public const int MaxCoalescedBytes = 32 * 1024;

    private const long NotWaiting = 0;

    private readonly CancellationTokenSource _timeout;
    private readonly TimeProvider _time;
    private readonly TimeSpan _idle;
    private readonly ITimer _watchdog;
    private readonly System.Diagnostics.Activity? _span;

    /// <summary>When the current wait for the provider began (a <see cref="TimeProvider"/> timestamp), or <see cref="NotWaiting"/>.</summary>
    private long _waitingSince;
    private int _disposed;

    /// <param name="updates">The provider's updates, positioned on the first one.</param>
    /// <param name="servedBy">The route that answered; its timeout is the idle timeout.</param>
    /// <param name="timeout">Cancels the provider call; whatever timer it had is replaced by this stream's.</param>
    /// <param name="time">The clock of the idle timeout.</param>
    /// <param name="span">The provider attempt's span, ended with the stream; null when tracing is off.</param>
    public OpenStream(
        IAsyncEnumerator<ChatResponseUpdate> updates, ServedBy servedBy, CancellationTokenSource timeout, TimeProvider time, System.Diagnostics.Activity? span = null)
    {
        _span = span;
        Updates = updates;
        ServedBy = servedBy;
        _timeout = timeout;
        _time = time;
        _idle = servedBy.Route.Timeout;
        timeout.CancelAfter(Timeout.InfiniteTimeSpan);
        _watchdog = time.CreateTimer(static state => ((OpenStream)state!).CheckIdle(), this, _idle, Timeout.InfiniteTimeSpan);
    }

    public IAsyncEnumerator<ChatResponseUpdate> Updates { get; }

    public ServedBy ServedBy { get; }

    /// <summary>Whether a wait for the provider's next update is being timed (what the watchdog counts).</summary>
    internal bool IsWaitingForProvider => Volatile.Read(ref _waitingSince) != NotWaiting;

    /// <summary>
    /// Moves to the provider's next update. What was written to <paramref name="client"/> is flushed first, while
    /// the provider is being read, unless the next update has already arrived (then it is written after the ones
    /// before it and they go out together, up to <see cref="MaxCoalescedBytes"/>).
    /// </summary>
    public ValueTask<bool> MoveNextAsync(PipeWriter client, CancellationToken aborted)
    {
        var next = Updates.MoveNextAsync();
        if (next.IsCompleted)
        {
            return client.CanGetUnflushedBytes && client.UnflushedBytes < MaxCoalescedBytes ? next : FlushThenAsync(next, client, aborted);
        }

        // The wait is timed from here, microseconds after it began; WaitAsync, started after, ends it.
        Volatile.Write(ref _waitingSince, Math.Max(1, _time.GetTimestamp()));
        return FlushWhileWaitingAsync(next, client, aborted);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _watchdog.DisposeAsync().ConfigureAwait(false);
        await Updates.DisposeAsync().ConfigureAwait(false);
        _timeout.Dispose();
        _span?.Dispose();
    }

    private static async ValueTask<bool> FlushThenAsync(ValueTask<bool> next, PipeWriter client, CancellationToken aborted)
    {
        await client.FlushAsync(aborted).ConfigureAwait(false);
        return await next.ConfigureAwait(false);
    }

    private async ValueTask<bool> FlushWhileWaitingAsync(ValueTask<bool> next, PipeWriter client, CancellationToken aborted)
    {
        var waiting = WaitAsync(next);
        try
        {
            await client.FlushAsync(aborted).ConfigureAwait(false);
        }
        catch
        {
            // The client is gone: end the provider call, and let the pending read finish before the enumerator is disposed.
            CancelProvider();
            await ((Task)waiting.AsTask()).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }

        return await waiting.ConfigureAwait(false);
    }

    private async ValueTask<bool> WaitAsync(ValueTask<bool> next)
    {
        try
        {
            return await next.ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _waitingSince, NotWaiting);
        }
    }

    /// <summary>The watchdog: cancels the provider call after a wait of the full idle timeout, else re-arms for what is left.</summary>
    private void CheckIdle()
    {
        var since = Volatile.Read(ref _waitingSince);
        var waited = since == NotWaiting ? TimeSpan.Zero : _time.GetElapsedTime(since);
        if (waited >= _idle)
        {
            CancelProvider();
            return;
        }

        try
        {
            _watchdog.Change(_idle - waited, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The stream ended meanwhile.
        }
    }

    private void CancelProvider()
    {
        try
        {
            _timeout.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The stream ended meanwhile.
        }
    }
}
