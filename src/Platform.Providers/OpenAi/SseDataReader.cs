using System.Buffers;

namespace Platform.Providers.OpenAi;

/// <summary>
/// Reads the <c>data</c> of each server-sent event of a provider's stream, in place: an event whose data is one line
/// (every chunk OpenAI-compatible providers send) is handed out as a slice of the read buffer, without a copy.
/// Lines end with LF, CRLF or CR; comments and fields other than <c>data</c> are skipped; the lines of an event
/// with several <c>data</c> lines are joined with LF, as the SSE specification says.
/// </summary>
/// <remarks>
/// Replaces <c>System.Net.ServerSentEvents.SseParser</c>, which copies every line into a buffer of its own and was
/// about a tenth of the gateway's CPU on streamed requests. An event larger than <see cref="MaxEventBytes"/> ends the
/// stream with an <see cref="InvalidDataException"/>: a provider cannot make the gateway buffer without limit.
/// </remarks>
internal sealed class SseDataReader(Stream stream) : IDisposable
{
    public const int InitialBufferSize = 16 * 1024;
    public const int MaxEventBytes = 4 * 1024 * 1024;

    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
    private int _start;
    private int _end;
    private bool _eof;

    // The last line ended with a CR at the end of what was read: an LF that comes next belongs to that line end.
    private bool _afterCr;

    // The data of the event being read: one line in the buffer, or (from a second data line on) the joined lines.
    private int _lineOffset = -1;
    private int _lineLength;
    private ArrayBufferWriter<byte>? _joined;
    private bool _joining;

    // The data of the event last handed out.
    private int _dataOffset;
    private int _dataLength;
    private bool _dataJoined;

    /// <summary>The data of the current event; valid until the next call to <see cref="MoveNextAsync"/>.</summary>
    public ReadOnlySpan<byte> Data => _dataJoined ? _joined!.WrittenSpan : _buffer.AsSpan(_dataOffset, _dataLength);

    /// <summary>Moves to the next event that has data; false at the end of the stream.</summary>
    public ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_buffer is null, this);
        return TryReadEvent() ? new ValueTask<bool>(true) : ReadMoreAsync(cancellationToken);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask<bool> ReadMoreAsync(CancellationToken cancellationToken)
    {
        while (!_eof)
        {
            MakeRoom();
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _eof = true;
            }
            else
            {
                _end += read;
            }

            if (TryReadEvent())
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads the complete lines in the buffer up to the end of an event that has data.</summary>
    private bool TryReadEvent()
    {
        var buffer = _buffer!;
        while (_start < _end)
        {
            if (_afterCr)
            {
                _afterCr = false;
                if (buffer[_start] == (byte)'\n')
                {
                    _start++;
                    continue;
                }
            }

            var rest = buffer.AsSpan(_start, _end - _start);
            var length = rest.IndexOfAny((byte)'\r', (byte)'\n');
            if (length < 0)
            {
                if (!_eof)
                {
                    return false;
                }

                length = rest.Length; // the last line, without an end
            }

            var next = _start + length;
            if (next < _end && buffer[next] == (byte)'\r')
            {
                // A CR at the end of what was read ends the line now (a provider that ends lines with CR alone must not
                // have its event held until it sends more); an LF read next is then skipped as the rest of a CRLF.
                _afterCr = next + 1 == _end;
                next += next + 1 < _end && buffer[next + 1] == (byte)'\n' ? 2 : 1;
            }
            else if (next < _end)
            {
                next++;
            }

            var lineStart = _start;
            _start = next;
            if (length == 0)
            {
                if (Dispatch())
                {
                    return true;
                }

                continue;
            }

            Field(lineStart, length);
        }

        // At the end of the stream, an event whose blank line never came still counts.
        return _eof && Dispatch();
    }

    private void Field(int offset, int length)
    {
        var line = _buffer.AsSpan(offset, length);
        if (!line.StartsWith("data"u8))
        {
            return; // a comment, or a field other than data
        }

        int value;
        if (line.Length == 4)
        {
            value = 4;
        }
        else if (line[4] == (byte)':')
        {
            value = line.Length > 5 && line[5] == (byte)' ' ? 6 : 5;
        }
        else
        {
            return; // "database:" and the like
        }

        var (start, count) = (offset + value, length - value);
        if (_lineOffset < 0 && !_joining)
        {
            (_lineOffset, _lineLength) = (start, count);
            return;
        }

        _joined ??= new ArrayBufferWriter<byte>(1024);
        if (!_joining)
        {
            _joined.ResetWrittenCount();
            _joined.Write(_buffer.AsSpan(_lineOffset, _lineLength));
            _joining = true;
            _lineOffset = -1;
        }

        if (_joined.WrittenCount + 1 + count > MaxEventBytes)
        {
            throw new InvalidDataException($"The provider sent an event larger than {MaxEventBytes} bytes.");
        }

        _joined.Write("\n"u8);
        _joined.Write(_buffer.AsSpan(start, count));
    }

    private bool Dispatch()
    {
        if (_joining)
        {
            (_dataJoined, _joining) = (true, false);
            return true;
        }

        if (_lineOffset < 0)
        {
            return false;
        }

        (_dataOffset, _dataLength, _dataJoined) = (_lineOffset, _lineLength, false);
        _lineOffset = -1;
        return true;
    }

    /// <summary>Moves what is still needed (unread bytes, the data line of an event not yet complete) to the front, growing the buffer if it is full.</summary>
    private void MakeRoom()
    {
        var buffer = _buffer!;
        var keep = _lineOffset >= 0 ? Math.Min(_lineOffset, _start) : _start;
        if (keep > 0)
        {
            buffer.AsSpan(keep, _end - keep).CopyTo(buffer);
            _start -= keep;
            _end -= keep;
            if (_lineOffset >= 0)
            {
                _lineOffset -= keep;
            }
        }

        if (_end < buffer.Length)
        {
            return;
        }

        if (buffer.Length >= MaxEventBytes)
        {
            throw new InvalidDataException($"The provider sent an event larger than {MaxEventBytes} bytes.");
        }

        var grown = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, MaxEventBytes));
        buffer.AsSpan(0, _end).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(buffer);
        _buffer = grown;
    }
}
