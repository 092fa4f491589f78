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

    /// <summary>
    /// Longest run of one kind (whitespace, or not) tokenized as one piece. Byte-pair encoding a single pre-token
    /// costs time quadratic in its length (a 160,000-letter "word" took 84 s), so longer runs are counted in pieces
    /// of this length: at most one token more per piece, and the same count as before for any text without such runs.
    /// </summary>
    public const int MaxRun = 256;

    public static int Count(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        var tokenizer = Encoding.Value;
        var total = 0;
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            var piece = NextPiece(rest);
            total += tokenizer.CountTokens(piece);
            rest = rest[piece.Length..];
        }

        return total;
    }

    /// <summary>The text up to the point where a run of one kind reaches <see cref="MaxRun"/> characters (never splitting a surrogate pair).</summary>
    internal static ReadOnlySpan<char> NextPiece(ReadOnlySpan<char> text)
    {
        var runStart = 0;
        for (var i = 1; i < text.Length; i++)
        {
            if (char.IsWhiteSpace(text[i]) != char.IsWhiteSpace(text[i - 1]))
            {
                runStart = i;
            }
            else if (i - runStart >= MaxRun)
            {
                return text[..(char.IsLowSurrogate(text[i]) ? i + 1 : i)];
            }
        }

        return text;
    }

    /// <summary>
    /// The prompt's tokens as a provider counts them: every message's text, tool-call names and arguments, and tool
    /// results (a provider bills all of them; counting only the text let a 50,000-token tool result reserve 10).
    /// </summary>
    public static int CountPrompt(IEnumerable<ChatMessage> messages) => (int)Prompt(messages, null, Count);

    /// <summary>
    /// The prompt plus what the request's options add to it: each tool's name, description and parameter schema, and a
    /// JSON response schema (providers put them in the prompt and bill them as input).
    /// </summary>
    public static long CountPrompt(IEnumerable<ChatMessage> messages, ChatOptions? options) => Prompt(messages, options, Count);

    /// <summary>
    /// An upper bound of <see cref="CountPrompt(IEnumerable{ChatMessage}, ChatOptions?)"/> without tokenizing: a byte-level
    /// BPE token covers at least one UTF-8 byte, so the bytes (plus the same framing) are never fewer than the tokens.
    /// </summary>
    public static long BoundPrompt(IEnumerable<ChatMessage> messages, ChatOptions? options) =>
        Prompt(messages, options, static text => string.IsNullOrEmpty(text) ? 0 : System.Text.Encoding.UTF8.GetByteCount(text));

    /// <summary>Images and other attached files in the messages: each is billed as input, up to the route's <c>ImageInputTokens</c>.</summary>
    public static int Attachments(IEnumerable<ChatMessage> messages)
    {
        var count = 0;
        foreach (var message in messages)
        {
            var contents = message.Contents;
            for (var i = 0; i < contents.Count; i++)
            {
                if (contents[i] is DataContent or UriContent)
                {
                    count++;
                }
            }
        }

        return count;
    }

    private static long Prompt(IEnumerable<ChatMessage> messages, ChatOptions? options, Func<string?, int> count)
    {
        long total = 3;
        foreach (var text in PromptSize.Texts(messages))
        {
            total += PerMessageOverhead + count(text);
        }

        foreach (var tool in options?.Tools ?? [])
        {
            total += PerMessageOverhead + count(tool.Name) + count(tool.Description);
            if (tool is AIFunctionDeclaration function)
            {
                total += count(function.JsonSchema.GetRawText());
            }
        }

        if (options?.ResponseFormat is ChatResponseFormatJson { Schema: { } schema } json)
        {
            total += PerMessageOverhead + count(json.SchemaName) + count(json.SchemaDescription) + count(schema.GetRawText());
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
                var rest = text.AsSpan();
                while (!rest.IsEmpty)
                {
                    var piece = NextPiece(rest);
                    Encoding.Value.GetIndexByTokenCount(piece, (int)Math.Min(budget + 1, int.MaxValue), out _, out var counted);
                    budget -= counted;
                    if (budget < 0)
                    {
                        return false;
                    }

                    rest = rest[piece.Length..];
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
        internal static IEnumerable<string> Texts(IEnumerable<ChatMessage> messages)
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
