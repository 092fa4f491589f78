using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Json.Schema;
using Microsoft.Extensions.AI.Evaluation;

namespace Platform.Evaluations.Evaluators;

/// <summary>
/// Checks evaluator specs (messages name the field as the caller wrote it: <c>evaluators[2].value</c>) and
/// builds the evaluator of a spec.
/// </summary>
public static partial class EvaluatorFactory
{
    /// <summary>Most evaluators one run may have.</summary>
    public const int MaxEvaluators = 20;

    public const int MaxNameLength = 64;

    /// <summary>Longest regex pattern.</summary>
    public const int MaxPatternChars = 1_024;

    /// <summary>Longest JSON schema text.</summary>
    public const int MaxSchemaChars = 64 * 1_024;

    /// <summary>Longest substring (contains, not_contains) or fixed expected answer (exact_match).</summary>
    public const int MaxValueChars = 16 * 1_024;

    /// <summary>Longest judge route, prompt name or prompt version.</summary>
    public const int MaxReferenceChars = 128;

    /// <summary>Largest length bound (characters).</summary>
    public const int MaxLengthBound = 10_000_000;

    [GeneratedRegex("^[a-z0-9_.-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    /// <summary>Checks a list of specs (count, each spec, unique names); the first problem, or null when all can work.</summary>
    public static string? ValidateAll(IReadOnlyList<EvaluatorSpec>? specs)
    {
        if (specs is null)
        {
            return null;
        }

        if (specs.Count > MaxEvaluators)
        {
            return $"evaluators has {specs.Count} entries; at most {MaxEvaluators} are allowed";
        }

        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < specs.Count; i++)
        {
            if (Validate(specs[i], i) is { } error)
            {
                return error;
            }

            if (!names.TryAdd(specs[i].Name, i))
            {
                return $"evaluators[{i}].name '{specs[i].Name}' is already used by evaluators[{names[specs[i].Name]}]; names must be unique";
            }
        }

        return null;
    }

    /// <summary>Checks one spec at position <paramref name="index"/>; the problem in the caller's words, or null when it can work.</summary>
    public static string? Validate(EvaluatorSpec? spec, int index)
    {
        var at = $"evaluators[{index}]";
        if (spec is null)
        {
            return $"{at} is missing";
        }

        if (string.IsNullOrEmpty(spec.Name) || !NamePattern().IsMatch(spec.Name))
        {
            return $"{at}.name must be 1-{MaxNameLength} characters of lower-case letters, digits, '_', '.' and '-'";
        }

        if (string.IsNullOrEmpty(spec.Kind) || !EvaluatorKinds.All.Contains(spec.Kind, StringComparer.Ordinal))
        {
            var kind = EvaluatorLimits.Quote(spec.Kind ?? "", 40);
            return $"{at}.kind '{kind}' is not one of {string.Join(", ", EvaluatorKinds.All)}";
        }

        if (spec.Threshold is { } threshold && (!double.IsFinite(threshold) || threshold < 0 || threshold > 1))
        {
            return $"{at}.threshold must be a number from 0 to 1";
        }

        if ((TooLong(spec.JudgeRoute, "judgeRoute") ?? TooLong(spec.JudgePrompt, "judgePrompt")
            ?? TooLong(spec.JudgePromptVersion, "judgePromptVersion")) is { } tooLong)
        {
            return tooLong;
        }

        return spec.Kind switch
        {
            EvaluatorKinds.Contains or EvaluatorKinds.NotContains => RequireValue(spec, at, "a substring", MaxValueChars),
            EvaluatorKinds.ExactMatch when spec.Value is { Length: > MaxValueChars } =>
                $"{at}.value must be at most {MaxValueChars} characters",
            EvaluatorKinds.Regex => RequireValue(spec, at, "a regular expression", MaxPatternChars) ?? CheckRegex(spec, at),
            EvaluatorKinds.JsonSchema => RequireValue(spec, at, "a JSON schema", MaxSchemaChars) ?? CheckSchema(spec, at),
            EvaluatorKinds.Length => CheckLength(spec, at),
            EvaluatorKinds.LlmJudge when string.IsNullOrWhiteSpace(spec.JudgeRoute) =>
                $"{at}.judgeRoute is required for kind '{EvaluatorKinds.LlmJudge}' (the model route the judge runs on)",
            EvaluatorKinds.Groundedness when spec.UseJudge && string.IsNullOrWhiteSpace(spec.JudgeRoute) =>
                $"{at}.judgeRoute is required when useJudge is set (the model route the judge runs on)",
            _ => null,
        };

        string? TooLong(string? value, string field) =>
            value is { Length: > MaxReferenceChars } ? $"{at}.{field} must be at most {MaxReferenceChars} characters" : null;
    }

    /// <summary>
    /// The evaluator of a valid spec (throws <see cref="ArgumentException"/> with <see cref="Validate"/>'s message otherwise).
    /// <paramref name="judgeRubric"/> is the rubric prompt's text for llm_judge (a built-in rubric when null).
    /// </summary>
    public static IEvaluator Create(EvaluatorSpec spec, string? judgeRubric = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (Validate(spec, 0) is { } error)
        {
            throw new ArgumentException(error, nameof(spec));
        }

        return spec.Kind switch
        {
            EvaluatorKinds.ExactMatch => new ExactMatchEvaluator(spec),
            EvaluatorKinds.Contains => new ContainsEvaluator(spec, negate: false),
            EvaluatorKinds.NotContains => new ContainsEvaluator(spec, negate: true),
            EvaluatorKinds.Regex => new RegexEvaluator(spec),
            EvaluatorKinds.ValidJson => new ValidJsonEvaluator(spec),
            EvaluatorKinds.JsonSchema => new JsonSchemaEvaluator(spec),
            EvaluatorKinds.Length => new LengthEvaluator(spec),
            EvaluatorKinds.TokenF1 => new TokenOverlapEvaluator(spec, rougeL: false),
            EvaluatorKinds.RougeL => new TokenOverlapEvaluator(spec, rougeL: true),
            EvaluatorKinds.LlmJudge => new LlmJudgeEvaluator(spec, judgeRubric),
            EvaluatorKinds.Groundedness => new GroundednessEvaluator(spec),
            EvaluatorKinds.Pii => new PiiEvaluator(spec),
            EvaluatorKinds.Refusal => new RefusalEvaluator(spec),
            _ => throw new ArgumentException($"unknown kind '{spec.Kind}'", nameof(spec)),
        };
    }

    private static string? RequireValue(EvaluatorSpec spec, string at, string what, int max) =>
        string.IsNullOrEmpty(spec.Value) ? $"{at}.value is required for kind '{spec.Kind}' ({what})"
        : spec.Value.Length > max ? $"{at}.value must be at most {max} characters"
        : null;

    private static string? CheckRegex(EvaluatorSpec spec, string at)
    {
        try
        {
            RegexEvaluator.Build(spec.Value!, spec.IgnoreCase);
            return null;
        }
        catch (ArgumentException e)
        {
            return $"{at}.value is not a valid regular expression: {e.Message}";
        }
    }

    private static string? CheckSchema(EvaluatorSpec spec, string at)
    {
        try
        {
            JsonSchemaEvaluator.Parse(spec.Value!);
        }
        catch (Exception e) when (e is JsonException or JsonSchemaException or ArgumentException or InvalidOperationException)
        {
            return $"{at}.value is not a JSON schema: {EvaluatorLimits.Quote(e.Message, 300)}";
        }

        using var document = JsonDocument.Parse(spec.Value!, JsonLimits.DocumentOptions);
        return JsonSchemaEvaluator.FindPattern(document.RootElement) is { } pattern
            ? $"{at}.value holds a regular expression at {EvaluatorLimits.Quote(pattern, 100)}; patterns inside a JSON schema run without a time limit, "
                + "so they are not accepted: check the text with a 'regex' evaluator instead"
            : null;
    }

    private static string? CheckLength(EvaluatorSpec spec, string at)
    {
        if (spec.MinLength is null && spec.MaxLength is null)
        {
            return $"{at} of kind 'length' needs minLength, maxLength or both";
        }

        if (spec.MinLength is < 0 or > MaxLengthBound)
        {
            return $"{at}.minLength must be from 0 to {MaxLengthBound}";
        }

        if (spec.MaxLength is < 0 or > MaxLengthBound)
        {
            return $"{at}.maxLength must be from 0 to {MaxLengthBound}";
        }

        return spec.MinLength > spec.MaxLength
            ? string.Create(CultureInfo.InvariantCulture, $"{at}.minLength ({spec.MinLength}) is greater than maxLength ({spec.MaxLength})")
            : null;
    }
}

/// <summary>Reads a platform evaluator's metric back out of an <see cref="EvaluationResult"/>.</summary>
public static class EvaluatorScore
{
    /// <summary>
    /// The score (null when it could not be computed), whether it passed (a score at or above the threshold),
    /// and the reason, of the metric named <paramref name="name"/>.
    /// </summary>
    public static (double? Score, bool Passed, string? Reason) Read(EvaluationResult result, string name)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!result.TryGet<NumericMetric>(name, out var metric))
        {
            return (null, false, $"no score named '{name}'");
        }

        var score = metric.Value;
        var passed = score is not null && metric.Interpretation is { Failed: false };
        return (score, passed, metric.Reason);
    }
}
