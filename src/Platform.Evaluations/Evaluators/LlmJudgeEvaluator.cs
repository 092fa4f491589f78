using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;

namespace Platform.Evaluations.Evaluators;

/// <summary>
/// llm_judge: asks the judge (<see cref="ChatConfiguration.ChatClient"/>, the spec's judge route) to grade the
/// output against a rubric, as JSON <c>{"score": 1-5, "reasoning": "..."}</c>; the score is normalized to
/// (score - 1) / 4. A judge that fails or answers something unparsable gives no score and a reason, never an
/// exception (except cancellation). The judge's usage is added to the metric's metadata.
/// </summary>
public sealed class LlmJudgeEvaluator(EvaluatorSpec spec, string? rubric) : PlatformEvaluator(spec)
{
    /// <summary>The rubric used when the spec names no rubric prompt.</summary>
    public const string DefaultRubric =
        "You are grading an AI assistant's response. Judge how correct, complete and helpful the response is " +
        "for the user's input, taking the expected output and the reference context into account when given. " +
        "5 = fully correct and helpful, 4 = minor issues, 3 = partly correct, 2 = mostly wrong or unhelpful, " +
        "1 = wrong, harmful or off-topic.";

    /// <summary>Characters of each section (input, output, expected, context) sent to the judge.</summary>
    public const int MaxSectionChars = 20_000;

    private const string Instructions =
        "Answer with JSON only, exactly: {\"score\": <integer 1 to 5>, \"reasoning\": \"<one or two sentences>\"}.";

    private static readonly ChatResponseFormat Format = ChatResponseFormat.ForJsonSchema(
        JsonDocument.Parse("""
            {"type":"object","properties":{"score":{"type":"number","minimum":1,"maximum":5},"reasoning":{"type":"string"}},
             "required":["score","reasoning"],"additionalProperties":false}
            """).RootElement.Clone(),
        "judgement",
        "The grade of the response and the reasoning behind it.");

    private readonly string _rubric = string.IsNullOrWhiteSpace(rubric) ? DefaultRubric : rubric;

    protected override async ValueTask<Score> ScoreAsync(EvaluationInput input, NumericMetric metric, CancellationToken cancellationToken)
    {
        if (input.ChatConfiguration is null)
        {
            return Score.Missing("no judge was configured for this evaluator");
        }

        var prompt = new StringBuilder();
        AppendSection(prompt, "Input", input.Request);
        AppendSection(prompt, "Response", input.Output);
        if (input.Expected is not null)
        {
            AppendSection(prompt, "Expected output", input.Expected);
        }

        if (input.Context is not null)
        {
            AppendSection(prompt, "Reference context", input.Context);
        }

        List<ChatMessage> messages =
        [
            new(ChatRole.System, _rubric + "\n\n" + Instructions),
            new(ChatRole.User, prompt.ToString()),
        ];
        var options = new ChatOptions { ResponseFormat = Format, Temperature = 0 };

        var (response, failure) = await JudgeCall.GetAsync(input.ChatConfiguration.ChatClient, messages, options, cancellationToken)
            .ConfigureAwait(false);
        if (response is null)
        {
            return Score.Missing(failure!);
        }

        metric.AddOrUpdateChatMetadata(response);
        return JudgeResponseParser.TryParse(response.Text, out var score, out var reasoning, out var error)
            ? new Score((score - 1) / 4, $"judge score {score.ToString("0.##", CultureInfo.InvariantCulture)}/5: {reasoning}")
            : Score.Missing(error);
    }

    internal static void AppendSection(StringBuilder prompt, string title, string text)
    {
        prompt.Append("## ").Append(title).Append('\n');
        prompt.Append(EvaluatorLimits.Cut(text, MaxSectionChars));
        if (text.Length > MaxSectionChars)
        {
            prompt.Append("\n[cut]");
        }

        prompt.Append("\n\n");
    }
}

/// <summary>One call to a judge: the response, or a plain-words failure. Only the caller's cancellation throws.</summary>
internal static class JudgeCall
{
    public static async Task<(ChatResponse? Response, string? Failure)> GetAsync(
        IChatClient client, IList<ChatMessage> messages, ChatOptions options, CancellationToken cancellationToken)
    {
        try
        {
            return (await client.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false), null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            return (null, "the judge call timed out");
        }
#pragma warning disable CA1031 // Any failure of the judge is reported as a missing score, never thrown into the run.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return (null, "the judge call failed: " + EvaluatorLimits.Quote(e.Message, 200));
        }
    }
}

/// <summary>Reads the judge's answer: JSON with a score of 1-5 and a reasoning, tolerating code fences and extra text.</summary>
public static class JudgeResponseParser
{
    /// <summary>Characters of the judge's reasoning kept in the reason.</summary>
    public const int MaxReasoningChars = 600;

    public static bool TryParse(string? text, out double score, out string reasoning, out string error)
    {
        score = 0;
        reasoning = "";
        error = "";
        var json = ExtractObject(text);
        if (json is null)
        {
            error = $"the judge's answer is not JSON: '{EvaluatorLimits.Quote(text ?? "")}'";
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !TryGetProperty(root, "score", out var scoreElement))
            {
                error = "the judge's answer has no score";
                return false;
            }

            var parsed = scoreElement.ValueKind switch
            {
                JsonValueKind.Number => scoreElement.GetDouble(),
                JsonValueKind.String when double.TryParse(scoreElement.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture,
                    out var fromText) => fromText,
                _ => double.NaN,
            };
            if (!double.IsFinite(parsed) || parsed < 1 || parsed > 5)
            {
                error = $"the judge's score {scoreElement.GetRawText()} is not a number from 1 to 5";
                return false;
            }

            score = parsed;
            reasoning = TryGetProperty(root, "reasoning", out var reasoningElement) && reasoningElement.ValueKind == JsonValueKind.String
                ? EvaluatorLimits.Quote(reasoningElement.GetString() ?? "", MaxReasoningChars)
                : "(no reasoning given)";
            return true;
        }
        catch (JsonException)
        {
            error = $"the judge's answer is not valid JSON: '{EvaluatorLimits.Quote(text ?? "")}'";
            return false;
        }
    }

    /// <summary>The text from the first '{' to the last '}' (so code fences and chatter around the object are ignored).</summary>
    internal static string? ExtractObject(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var start = text.IndexOf('{', StringComparison.Ordinal);
        var end = text.LastIndexOf('}');
        return start >= 0 && end > start ? text[start..(end + 1)] : null;
    }

    private static bool TryGetProperty(JsonElement obj, string name, out JsonElement value)
    {
        foreach (var property in obj.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                value = property.Value;
                return true;
            }
        }

        value = default;
        return false;
    }
}
