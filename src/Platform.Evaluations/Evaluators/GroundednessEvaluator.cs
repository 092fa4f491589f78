using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;

namespace Platform.Evaluations.Evaluators;

/// <summary>
/// Lexical support of an output's sentences by a reference context. A sentence's content words are its
/// normalized tokens minus English stop words (with a light plural stem); the sentence is supported when at
/// least <see cref="SentenceSupport"/> of them occur in one reference sentence, or at least
/// <see cref="ContextSupport"/> of them occur anywhere in the context. Sentences without content words
/// ("Sure.", "Yes!") are not claims and are not counted.
/// </summary>
public static class Groundedness
{
    public const double SentenceSupport = 0.6;
    public const double ContextSupport = 0.8;

    /// <summary>Output sentences checked per item (the rest are not counted, and the reason says so).</summary>
    public const int MaxSentences = 500;

    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at",
        "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do",
        "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he",
        "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its",
        "itself", "just", "may", "me", "might", "more", "most", "must", "my", "myself", "no", "nor", "not", "now", "of",
        "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "shall",
        "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then",
        "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we",
        "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
        "yours", "yourself", "yourselves", "yes", "sure", "well", "according", "based", "context", "answer",
    };

    public sealed record Result(int Claims, IReadOnlyList<string> Unsupported, bool Cut);

    public static Result Check(string output, string context)
    {
        var referenceSentences = SplitSentences(context).Select(ContentWords).Where(w => w.Count > 0).ToList();
        var whole = new HashSet<string>(referenceSentences.SelectMany(w => w), StringComparer.Ordinal);
        var index = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < referenceSentences.Count; i++)
        {
            foreach (var word in referenceSentences[i])
            {
                if (!index.TryGetValue(word, out var postings))
                {
                    index[word] = postings = [];
                }

                postings.Add(i);
            }
        }

        var claims = 0;
        var unsupported = new List<string>();
        var cut = false;
        var hits = new Dictionary<int, int>();
        foreach (var sentence in SplitSentences(output))
        {
            var words = ContentWords(sentence);
            if (words.Count == 0)
            {
                continue;
            }

            if (claims == MaxSentences)
            {
                cut = true;
                break;
            }

            claims++;
            var inContext = words.Count(whole.Contains);
            var supported = inContext >= ContextSupport * words.Count;
            if (!supported)
            {
                hits.Clear();
                foreach (var word in words)
                {
                    if (index.TryGetValue(word, out var postings))
                    {
                        foreach (var i in postings)
                        {
                            hits[i] = hits.GetValueOrDefault(i) + 1;
                        }
                    }
                }

                supported = hits.Count > 0 && hits.Values.Max() >= SentenceSupport * words.Count;
            }

            if (!supported)
            {
                unsupported.Add(sentence);
            }
        }

        return new Result(claims, unsupported, cut);
    }

    /// <summary>Splits on sentence-ending punctuation followed by whitespace, and on line breaks.</summary>
    public static List<string> SplitSentences(string text)
    {
        var sentences = new List<string>();
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var end = c is '\n' or '\r' || (c is '.' or '!' or '?' && (i + 1 == text.Length || char.IsWhiteSpace(text[i + 1])));
            if (end)
            {
                Add(text.AsSpan(start, i + 1 - start));
                start = i + 1;
            }
        }

        Add(text.AsSpan(start));
        return sentences;

        void Add(ReadOnlySpan<char> sentence)
        {
            var trimmed = sentence.Trim();
            if (!trimmed.IsEmpty)
            {
                sentences.Add(trimmed.ToString());
            }
        }
    }

    /// <summary>Distinct content words: lower-cased tokens without punctuation, stop words removed, plural 's' dropped.</summary>
    public static HashSet<string> ContentWords(string sentence)
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        var builder = new StringBuilder();
        foreach (var c in sentence.Append(' '))
        {
            if (char.IsLetterOrDigit(c))
            {
                builder.Append(char.ToLowerInvariant(c));
                continue;
            }

            if (c is '\'' or '\u2019' or '-' or '.' or ',' && builder.Length > 0)
            {
                continue; // don't -> dont, 3.5 -> 35, 1,000 -> 1000, e-mail -> email
            }

            if (builder.Length > 0)
            {
                var word = builder.ToString();
                builder.Clear();
                if (!StopWords.Contains(word))
                {
                    words.Add(Stem(word));
                }
            }
        }

        return words;
    }

    private static string Stem(string word) =>
        word.Length > 3 && word[^1] == 's' && word[^2] != 's' && !char.IsDigit(word[^2]) ? word[..^1] : word;
}

/// <summary>
/// groundedness: the share of the output's sentences supported by the item's reference context (see
/// <see cref="Groundedness"/>); the reason lists the unsupported sentences. With <see cref="EvaluatorSpec.UseJudge"/>
/// and a chat configuration, the judge is asked (once per item) about the lexically unsupported sentences only.
/// </summary>
public sealed class GroundednessEvaluator(EvaluatorSpec spec) : PlatformEvaluator(spec)
{
    /// <summary>Unsupported sentences sent to the judge per item.</summary>
    public const int MaxJudgedSentences = 20;

    private static readonly ChatResponseFormat Format = ChatResponseFormat.ForJsonSchema(
        JsonDocument.Parse("""
            {"type":"object","properties":{"supported":{"type":"array","items":{"type":"integer"}}},
             "required":["supported"],"additionalProperties":false}
            """).RootElement.Clone(),
        "support",
        "The numbers of the claims the context supports.");

    protected override async ValueTask<Score> ScoreAsync(EvaluationInput input, NumericMetric metric, CancellationToken cancellationToken)
    {
        if (input.Context is null)
        {
            return Score.Missing("the item has no reference context to check the output against");
        }

        var result = Groundedness.Check(input.Output, input.Context);
        if (result.Claims == 0)
        {
            return new Score(1, "the output makes no claims to check");
        }

        var unsupported = result.Unsupported.ToList();
        var judgeNote = "";
        if (Spec.UseJudge && input.ChatConfiguration is not null && unsupported.Count > 0)
        {
            var (confirmed, note) = await AskJudgeAsync(input, unsupported, metric, cancellationToken).ConfigureAwait(false);
            judgeNote = note;
            if (confirmed is not null)
            {
                unsupported = [.. unsupported.Where((_, i) => !confirmed.Contains(i))];
            }
        }

        var supported = result.Claims - unsupported.Count;
        var score = (double)supported / result.Claims;
        var reason = new StringBuilder($"{supported} of {result.Claims} sentences are supported by the context");
        if (result.Cut)
        {
            reason.Append(CultureInfo.InvariantCulture, $" (only the first {Groundedness.MaxSentences} sentences were checked)");
        }

        reason.Append(judgeNote);
        if (unsupported.Count > 0)
        {
            reason.Append("; unsupported: ");
            var listed = 0;
            foreach (var sentence in unsupported)
            {
                var quoted = $"'{EvaluatorLimits.Quote(sentence, 120)}' ";
                if (reason.Length + quoted.Length > EvaluatorLimits.MaxReasonChars - 40)
                {
                    reason.Append(CultureInfo.InvariantCulture, $"and {unsupported.Count - listed} more");
                    break;
                }

                reason.Append(quoted);
                listed++;
            }
        }

        return new Score(score, reason.ToString().TrimEnd());
    }

    private static async Task<(HashSet<int>? Supported, string Note)> AskJudgeAsync(
        EvaluationInput input, List<string> unsupported, NumericMetric metric, CancellationToken cancellationToken)
    {
        var asked = Math.Min(unsupported.Count, MaxJudgedSentences);
        var prompt = new StringBuilder();
        LlmJudgeEvaluator.AppendSection(prompt, "Context", input.Context!);
        prompt.Append("## Claims\n");
        for (var i = 0; i < asked; i++)
        {
            prompt.Append(CultureInfo.InvariantCulture, $"{i + 1}. {EvaluatorLimits.Quote(unsupported[i], 500)}\n");
        }

        List<ChatMessage> messages =
        [
            new(ChatRole.System,
                "For each numbered claim, decide whether the context supports it (states it or directly implies it). " +
                "Answer with JSON only: {\"supported\": [numbers of the supported claims]}."),
            new(ChatRole.User, prompt.ToString()),
        ];
        var (response, failure) = await JudgeCall.GetAsync(
            input.ChatConfiguration!.ChatClient, messages, new ChatOptions { ResponseFormat = Format, Temperature = 0 }, cancellationToken)
            .ConfigureAwait(false);
        if (response is null)
        {
            return (null, $" ({failure}; lexical check only)");
        }

        metric.AddOrUpdateChatMetadata(response);
        var json = JudgeResponseParser.ExtractObject(response.Text);
        try
        {
            using var document = json is null ? null : JsonDocument.Parse(json);
            if (document?.RootElement is { ValueKind: JsonValueKind.Object } root &&
                root.TryGetProperty("supported", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                var supported = new HashSet<int>();
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Number && item.TryGetInt32(out var n) && n >= 1 && n <= asked)
                    {
                        supported.Add(n - 1);
                    }
                }

                return (supported, $" (the judge supported {supported.Count} of {asked} sentences the lexical check did not)");
            }
        }
        catch (JsonException)
        {
            // Reported below as an unreadable answer.
        }

        return (null, " (the judge's answer could not be read; lexical check only)");
    }
}
