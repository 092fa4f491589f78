using System.Buffers;
using System.IO.Pipelines;

namespace Platform.Silo.Gateway;

/// <summary>
/// The response body of a stream, with what is written held in a buffer of its own until the next flush, which
/// hands it to the response in one write. Kestrel's response writer takes its output lock on every
/// <c>GetSpan</c> and <c>Advance</c>: twice per chunk, eighty times for a forty-chunk stream, where this takes
/// it once per flush. <see cref="UnflushedBytes"/> is what is held.
/// </summary>
public sealed class HeldResponseWriter(PipeWriter response) : PipeWriter, IDisposable
{
    private const int InitialSize = 4096;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
    private int _written;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _written;

    public override void Advance(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, _buffer.Length - _written);
        _written += bytes;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_written > 0)
        {
            response.Write(_buffer.AsSpan(0, _written));
            _written = 0;
        }

        return response.FlushAsync(cancellationToken);
    }

    public override void CancelPendingFlush() => response.CancelPendingFlush();

    /// <summary>Completes the response; what is still held and not flushed is dropped, as an unflushed pipe's would be.</summary>
    public override void Complete(Exception? exception = null) => response.Complete(exception);

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Ensure(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        var grown = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = grown;
    }
}
