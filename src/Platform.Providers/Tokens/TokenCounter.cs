using Microsoft.Extensions.AI;
using Microsoft.ML.Tokenizers;

namespace Platform.Providers.Tokens;

/// <summary>
/// Counts tokens with the o200k_base encoding (GPT-4o family) for when a provider's stream ends
/// without usage, so no streamed request is recorded at zero cost.
/// </summary>
public static class TokenCounter
{
    /// <summary>Per-message framing tokens in the OpenAI chat format.</summary>
    private const int PerMessageOverhead = 3;

    private static readonly Lazy<Tokenizer> Encoding = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    public static int Count(string? text) => string.IsNullOrEmpty(text) ? 0 : Encoding.Value.CountTokens(text);

    public static int CountPrompt(IEnumerable<ChatMessage> messages)
    {
        var total = 3;
        foreach (var message in messages)
        {
            total += PerMessageOverhead + Count(message.Text);
        }

        return total;
    }
}
