using System.Globalization;
using System.Text;
using Platform.Providers.Tokens;

namespace Platform.Silo.Gateway;

/// <summary>
/// Meters a stream against what its admission reserved: once the output produced so far exceeds the output tokens
/// reserved, going on would spend more than the budget set aside for it, so the stream ends. Tokens are counted only
/// when the output could exceed the reservation (a token is at least one UTF-8 byte: what is counted so far plus the
/// bytes not yet counted must pass it), and then incrementally: text up to the last whitespace is counted once
/// (byte-pair pre-tokens never span a word start); the unfinished word is counted only if its bytes could still pass.
/// </summary>
public sealed class StreamMeter(Admission admission)
{
    /// <summary>An unfinished "word" longer than this (text without spaces) is counted in pieces: at most a token more per piece.</summary>
    private const int MaxTail = 512;

    private int _boundary;
    private long _counted;

    public bool Exhausted(StringBuilder output)
    {
        var max = admission.MaxOutputTokens;
        if (!admission.Limited || _counted + ((output.Length - _boundary) * 3L) <= max)
        {
            return false;
        }

        // Text past the boundary has at most as many tokens as UTF-8 bytes: counted only when that bound could pass.
        if (_counted + Utf8Bytes(output, _boundary, output.Length) <= max)
        {
            return false;
        }

        var last = output.Length - 1;
        while (last > _boundary && !char.IsWhiteSpace(output[last]))
        {
            last--;
        }

        if (last <= _boundary && output.Length - _boundary > MaxTail)
        {
            last = output.Length - (MaxTail / 2);
        }

        if (last > _boundary)
        {
            _counted += TokenCounter.Count(output.ToString(_boundary, last - _boundary));
            _boundary = last;
        }

        return _counted + Utf8Bytes(output, _boundary, output.Length) > max
            && _counted + TokenCounter.Count(output.ToString(_boundary, output.Length - _boundary)) > max;
    }

    /// <summary>The UTF-8 length of <paramref name="text"/>[start..end), without copying it out.</summary>
    private static long Utf8Bytes(StringBuilder text, int start, int end)
    {
        long bytes = 0;
        var offset = 0;
        foreach (var chunk in text.GetChunks())
        {
            var from = Math.Max(start - offset, 0);
            var to = Math.Min(end - offset, chunk.Length);
            if (to > from)
            {
                bytes += Encoding.UTF8.GetByteCount(chunk.Span[from..to]);
            }

            offset += chunk.Length;
            if (offset >= end)
            {
                break;
            }
        }

        return bytes;
    }

    public string Message(UsageCost spent) => string.Create(
        CultureInfo.InvariantCulture,
        $"The stream was ended: its output reached the {admission.MaxOutputTokens} tokens (${admission.WorstCase.Usd:0.######}) its budget reserved for it "
        + $"({spent.OutputTokens} output tokens, ${spent.CostUsd:0.######} charged). Set max_tokens to bound the output, or raise the budget.");
}
