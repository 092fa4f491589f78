using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.AI;
using Platform.Gateway;
using Platform.Providers.Catalog;
using Platform.Silo.Gateway;

namespace Platform.Tests.Gateway;

public sealed class OpenStreamTests : IAsyncDisposable
{
    private static readonly TimeSpan RouteTimeout = TimeSpan.FromSeconds(10);

    private readonly ManualTime _time = new();
    private readonly CancellationTokenSource _call = new();
    private readonly Pipe _client;
    private readonly ScriptedUpdates _provider;
    private readonly OpenStream _stream;

    public OpenStreamTests() : this(pauseWriterThreshold: 1 << 20)
    {
    }

    private OpenStreamTests(long pauseWriterThreshold)
    {
        _client = new Pipe(new PipeOptions(pauseWriterThreshold: pauseWriterThreshold, resumeWriterThreshold: pauseWriterThreshold, useSynchronizationContext: false));
        _provider = new ScriptedUpdates(_call.Token);
        var route = new ResolvedRoute(new ModelRoute { Name = "r", TimeoutSeconds = RouteTimeout.TotalSeconds }, new ModelPrice(0, 0, 0, null), new RouteClients(null, null));
        _stream = new OpenStream(_provider, new ServedBy(route, 1, false), _call, _time);
    }

    public async ValueTask DisposeAsync() => await _stream.DisposeAsync();

    [Fact]
    public async Task MoveNext_WhenTheNextUpdateIsAlreadyHere_HoldsTheChunkBack_AndFlushesBeforeWaitingForOneThatIsNot()
    {
        _provider.Next.Enqueue(Task.FromResult(true));
        var later = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _provider.Next.Enqueue(later.Task);

        _client.Writer.Write("one "u8);
        Assert.True(await _stream.MoveNextAsync(_client.Writer, default));
        Assert.False(_client.Reader.TryRead(out _));

        _client.Writer.Write("two"u8);
        var next = _stream.MoveNextAsync(_client.Writer, default).AsTask();

        // Both chunks reach the client while the provider has not answered yet.
        Assert.Equal("one two", await ReadAsync());
        Assert.False(next.IsCompleted);
        later.SetResult(true);
        Assert.True(await next);
    }

    [Fact]
    public async Task MoveNext_FlushesHeldBackChunks_OnceTheyReachTheCoalescingLimit()
    {
        _provider.Next.Enqueue(Task.FromResult(true));

        _client.Writer.Write(new byte[OpenStream.MaxCoalescedBytes]);
        Assert.True(await _stream.MoveNextAsync(_client.Writer, default));

        Assert.True(_client.Reader.TryRead(out var flushed));
        Assert.Equal(OpenStream.MaxCoalescedBytes, flushed.Buffer.Length);
    }

    [Fact]
    public async Task AProviderSilentForTheRouteTimeout_IsCancelled()
    {
        _provider.Next.Enqueue(new TaskCompletionSource<bool>().Task);
        var next = _stream.MoveNextAsync(_client.Writer, default).AsTask();

        _time.Advance(RouteTimeout - TimeSpan.FromSeconds(1));
        Assert.False(_call.IsCancellationRequested);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(_call.IsCancellationRequested);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next);
    }

    [Fact]
    public async Task WaitsShorterThanTheRouteTimeout_AreNotAddedUp()
    {
        for (var i = 0; i < 5; i++)
        {
            var update = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _provider.Next.Enqueue(update.Task);
            var next = _stream.MoveNextAsync(_client.Writer, default);
            _time.Advance(RouteTimeout * 0.6);
            update.SetResult(true);
            Assert.True(await next);
        }

        _time.Advance(RouteTimeout * 0.6);
        Assert.False(_call.IsCancellationRequested);
    }

    [Fact]
    public async Task AClientSlowerThanTheRouteTimeout_DoesNotCountAgainstTheProvider()
    {
        // The client reads nothing: the flush waits on it, far longer than the route timeout, after the provider answered.
        await using var test = new OpenStreamTests(pauseWriterThreshold: 1);
        var update = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        test._provider.Next.Enqueue(update.Task);
        test._client.Writer.Write("chunk"u8);

        var next = test._stream.MoveNextAsync(test._client.Writer, default).AsTask();
        update.SetResult(true);
        // The provider's answer has been taken and the wait for it has ended; only the flush to the client is pending.
        await WaitUntilAsync(() => test._provider.Completed == 1 && !test._stream.IsWaitingForProvider);
        test._time.Advance(RouteTimeout * 3);
        Assert.False(next.IsCompleted);

        var read = await test._client.Reader.ReadAsync();
        test._client.Reader.AdvanceTo(read.Buffer.End);
        Assert.True(await next);
        Assert.False(test._call.IsCancellationRequested);
    }

    private async Task<string> ReadAsync()
    {
        var result = await _client.Reader.ReadAsync();
        var text = System.Text.Encoding.UTF8.GetString(result.Buffer.ToArray());
        _client.Reader.AdvanceTo(result.Buffer.End);
        return text;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the condition");
            await Task.Yield();
        }
    }

    /// <summary>A provider whose next updates the test hands out: each MoveNextAsync takes the next task.</summary>
    private sealed class ScriptedUpdates(CancellationToken call) : IAsyncEnumerator<ChatResponseUpdate>
    {
        private int _completed;

        public Queue<Task<bool>> Next { get; } = new();

        public int Completed => Volatile.Read(ref _completed);

        public ChatResponseUpdate Current { get; } = new(ChatRole.Assistant, "x");

        public async ValueTask<bool> MoveNextAsync()
        {
            var next = Next.Dequeue();
            if (next.IsCompleted)
            {
                Interlocked.Increment(ref _completed);
                return await next;
            }

            var more = await next.WaitAsync(call);
            Interlocked.Increment(ref _completed);
            return more;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>A clock the test moves; timers fire when it passes their due time.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private readonly List<ManualTimer> _timers = [];
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new ManualTimer(this, callback, state);
            lock (_timers)
            {
                _timers.Add(timer);
            }

            timer.Change(dueTime, period);
            return timer;
        }

        public void Advance(TimeSpan by)
        {
            Interlocked.Add(ref _ticks, by.Ticks);
            while (true)
            {
                ManualTimer? due;
                lock (_timers)
                {
                    due = _timers.FirstOrDefault(t => t.Due is { } at && at <= GetTimestamp());
                }

                if (due is null)
                {
                    return;
                }

                due.Fire();
            }
        }

        private sealed class ManualTimer(ManualTime time, TimerCallback callback, object? state) : ITimer
        {
            public long? Due { get; private set; }

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : time.GetTimestamp() + dueTime.Ticks;
                return true;
            }

            public void Fire()
            {
                Due = null;
                callback(state);
            }

            public void Dispose() => Due = null;

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
