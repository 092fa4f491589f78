using System.Globalization;
using System.Text;
using Platform.Providers.Tokens;

namespace Platform.Silo.Gateway;

/// <summary>
/// Meters a stream against what its admission reserved: once the output produced so far exceeds the output tokens
/// reserved, going on would spend more than the budget set aside for it, so the stream ends. Tokens are counted only
/// once the output could exceed the reservation (a token is at least one UTF-8 byte, a character at most three), and
/// then incrementally: text up to the last whitespace is counted once (byte-pair pre-tokens never span a word start),
/// only the unfinished word is counted again with each chunk.
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
        if (!admission.Limited || output.Length * 3L <= max)
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

        return _counted + TokenCounter.Count(output.ToString(_boundary, output.Length - _boundary)) > max;
    }

    public string Message(UsageCost spent) => string.Create(
        CultureInfo.InvariantCulture,
        $"The stream was ended: its output reached the {admission.MaxOutputTokens} tokens (${admission.WorstCase.Usd:0.######}) its budget reserved for it "
        + $"({spent.OutputTokens} output tokens, ${spent.CostUsd:0.######} charged). Set max_tokens to bound the output, or raise the budget.");
}
