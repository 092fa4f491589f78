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

    /// <summary>
    /// Whether a prompt fits a context window. Cheap for the usual case: a byte-level BPE token covers at least
    /// one UTF-8 byte, so a prompt with fewer bytes (plus framing) than the window fits without tokenizing.
    /// Only prompts near or above the window are counted, text, tool arguments and tool results included.
    /// </summary>
    public sealed class PromptSize(IReadOnlyList<ChatMessage> messages)
    {
        private long? _bound;
        private long? _tokens;

        /// <summary>The prompt's tokens: counted on first use.</summary>
        public long Tokens => _tokens ??= Measure(messages, static text => Count(text));

        public bool Fits(int? contextWindow)
        {
            if (contextWindow is not { } window)
            {
                return true;
            }

            _bound ??= Measure(messages, static text => System.Text.Encoding.UTF8.GetByteCount(text));
            return _bound <= window || Tokens <= window;
        }

        private static long Measure(IReadOnlyList<ChatMessage> messages, Func<string, int> size)
        {
            long total = 3;
            foreach (var message in messages)
            {
                total += PerMessageOverhead;
                foreach (var content in message.Contents)
                {
                    total += content switch
                    {
                        TextContent text => size(text.Text),
                        FunctionCallContent call => size(call.Name) + size(Platform.Providers.OpenAi.OpenAiWire.ArgumentsJson(call)),
                        FunctionResultContent result => size(result.Result as string ?? result.Result?.ToString() ?? ""),
                        _ => 0,
                    };
                }
            }

            return total;
        }
    }
}
