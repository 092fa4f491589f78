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
    /// Longer prompts are tokenized only until they pass the window. Text, tool arguments and tool results
    /// count; tool schemas and images do not (a provider's own refusal covers what this misses).
    /// </summary>
    public sealed class PromptSize(IReadOnlyList<ChatMessage> messages)
    {
        private long? _bytes;
        private (int Window, bool Fits)? _counted;

        public bool Fits(int? contextWindow)
        {
            if (contextWindow is not { } window)
            {
                return true;
            }

            _bytes ??= Measure(messages, static text => System.Text.Encoding.UTF8.GetByteCount(text));
            if (_bytes <= window)
            {
                return true;
            }

            // Fallbacks usually share a window: count once per distinct window in a row.
            if (_counted is not { } counted || counted.Window != window)
            {
                _counted = counted = (window, CountsAtMost(window));
            }

            return counted.Fits;
        }

        private bool CountsAtMost(int window)
        {
            long budget = window - 3;
            foreach (var text in Texts(messages))
            {
                budget -= PerMessageOverhead;
                if (budget < 0)
                {
                    return false;
                }

                if (text.Length == 0)
                {
                    continue;
                }

                // Stops after budget + 1 tokens: a 4 MB prompt against a 128k window costs 128k tokens of work, not 4 MB.
                Encoding.Value.GetIndexByTokenCount(text, (int)Math.Min(budget + 1, int.MaxValue), out _, out var counted);
                budget -= counted;
                if (budget < 0)
                {
                    return false;
                }
            }

            return true;
        }

        private static long Measure(IReadOnlyList<ChatMessage> messages, Func<string, int> size)
        {
            long total = 3;
            foreach (var text in Texts(messages))
            {
                total += PerMessageOverhead + size(text);
            }

            return total;
        }

        /// <summary>One string per message: its text, tool-call names and arguments, and tool results.</summary>
        private static IEnumerable<string> Texts(IReadOnlyList<ChatMessage> messages)
        {
            foreach (var message in messages)
            {
                if (message.Contents is [TextContent only])
                {
                    yield return only.Text;
                    continue;
                }

                var builder = new System.Text.StringBuilder();
                foreach (var content in message.Contents)
                {
                    switch (content)
                    {
                        case TextContent text:
                            builder.Append(text.Text);
                            break;
                        case FunctionCallContent call:
                            builder.Append(call.Name).Append(Platform.Providers.OpenAi.OpenAiWire.ArgumentsJson(call));
                            break;
                        case FunctionResultContent result:
                            builder.Append(result.Result as string ?? result.Result?.ToString());
                            break;
                    }
                }

                yield return builder.ToString();
            }
        }
    }
}
