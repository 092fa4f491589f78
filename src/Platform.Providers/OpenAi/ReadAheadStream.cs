using System.Buffers;

namespace Platform.Providers.OpenAi;

/// <summary>
/// Reads a provider's stream in pieces of up to <see cref="BufferSize"/> bytes and hands them out in the sizes asked
/// for. The server-sent-events parser asks for 1 KB at a time, and every read through the SDK's response stream costs
/// a restart of its read timer and a few async state machines: ten of each for a 10 KB answer. A read still returns as
/// soon as any bytes arrive; nothing waits for the buffer to fill.
/// </summary>
internal sealed class ReadAheadStream(Stream inner) : Stream
{
    public const int BufferSize = 16 * 1024;

    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _start;
    private int _end;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_buffer is null, this);
        return _start < _end ? new ValueTask<int>(Take(destination.Span)) : FillAsync(destination, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_buffer is null, this);
        if (_start == _end)
        {
            _start = 0;
            _end = inner.Read(_buffer);
        }

        return Take(destination);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        // The inner stream belongs to the response; only the buffer is ours.
        if (disposing && Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        base.Dispose(disposing);
    }

    private async ValueTask<int> FillAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (destination.Length >= BufferSize)
        {
            return await inner.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
        }

        _start = 0;
        _end = 0;
        _end = await inner.ReadAsync(_buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false);
        return Take(destination.Span);
    }

    private int Take(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, count).CopyTo(destination);
        _start += count;
        return count;
    }
}
