namespace Platform.Evaluations;

/// <summary>
/// One evaluator of an evaluation run: a unique <see cref="Name"/> (the metric's name), a <see cref="Kind"/>
/// (see <see cref="EvaluatorKinds"/>) and the settings that kind needs. Checked by <c>EvaluatorFactory.Validate</c>.
/// </summary>
/// <param name="Name">Unique per run; 1-64 characters of <c>[a-z0-9_.-]</c>.</param>
/// <param name="Kind">One of <see cref="EvaluatorKinds.All"/>.</param>
/// <param name="Value">The substring (contains, not_contains), pattern (regex), JSON schema text (json_schema),
/// or a fixed expected answer (exact_match; when absent the item's expected output is used).</param>
/// <param name="IgnoreCase">Case-insensitive comparison for exact_match, contains, not_contains and regex.</param>
/// <param name="MinLength">Fewest characters (UTF-16 code units) the output may have (length).</param>
/// <param name="MaxLength">Most characters the output may have (length).</param>
/// <param name="Threshold">An item passes when its score is at least this; default per kind
/// (<see cref="EvaluatorKinds.DefaultThreshold"/>): 1.0 for pass/fail kinds, 0.5 for token_f1 and rouge_l,
/// 0.8 for groundedness, 0.6 for llm_judge (a judge score of 4 or 5 out of 5).</param>
/// <param name="JudgeRoute">Model route the judge runs on (llm_judge; groundedness with <see cref="UseJudge"/>).</param>
/// <param name="JudgePrompt">Name of the rubric prompt in the prompt registry (llm_judge; a built-in rubric when absent).</param>
/// <param name="JudgePromptVersion">Version number or label of <see cref="JudgePrompt"/> (the production label when absent).</param>
/// <param name="ExpectRefusal">refusal: the item should be refused (red-team datasets), so a refusal scores 1.</param>
/// <param name="UseJudge">groundedness: ask the judge about the sentences the lexical check could not support.</param>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.EvaluatorSpec")]
public sealed record EvaluatorSpec(
    [property: Id(0)] string Name,
    [property: Id(1)] string Kind,
    [property: Id(2)] string? Value = null,
    [property: Id(3)] bool IgnoreCase = false,
    [property: Id(4)] int? MinLength = null,
    [property: Id(5)] int? MaxLength = null,
    [property: Id(6)] double? Threshold = null,
    [property: Id(7)] string? JudgeRoute = null,
    [property: Id(8)] string? JudgePrompt = null,
    [property: Id(9)] string? JudgePromptVersion = null,
    [property: Id(10)] bool ExpectRefusal = false,
    [property: Id(11)] bool UseJudge = false)
{
    /// <summary>The threshold in effect: <see cref="Threshold"/> or the kind's default.</summary>
    public double EffectiveThreshold => Threshold ?? EvaluatorKinds.DefaultThreshold(Kind);

    /// <summary>True when this evaluator calls the judge route (and so needs a chat configuration).</summary>
    public bool NeedsJudge => Kind == EvaluatorKinds.LlmJudge || (Kind == EvaluatorKinds.Groundedness && UseJudge);
}

/// <summary>The evaluator kinds, as written in <see cref="EvaluatorSpec.Kind"/>.</summary>
public static class EvaluatorKinds
{
    public const string ExactMatch = "exact_match";
    public const string Contains = "contains";
    public const string NotContains = "not_contains";
    public const string Regex = "regex";
    public const string ValidJson = "valid_json";
    public const string JsonSchema = "json_schema";
    public const string Length = "length";
    public const string TokenF1 = "token_f1";
    public const string RougeL = "rouge_l";
    public const string LlmJudge = "llm_judge";
    public const string Groundedness = "groundedness";
    public const string Pii = "pii";
    public const string Refusal = "refusal";

    public static IReadOnlyList<string> All { get; } =
    [
        ExactMatch, Contains, NotContains, Regex, ValidJson, JsonSchema, Length,
        TokenF1, RougeL, LlmJudge, Groundedness, Pii, Refusal,
    ];

    /// <summary>Pass threshold when the spec gives none: graded kinds below 1, pass/fail kinds 1.0.</summary>
    public static double DefaultThreshold(string kind) => kind switch
    {
        TokenF1 or RougeL => 0.5,
        Groundedness => 0.8,
        LlmJudge => 0.6,
        _ => 1.0,
    };
}

/// <summary>One item whose score moved between the baseline run and the candidate run.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.ItemScoreChange")]
public sealed record ItemScoreChange(
    [property: Id(0)] string ItemId,
    [property: Id(1)] double Baseline,
    [property: Id(2)] double Candidate)
{
    public double Difference => Candidate - Baseline;
}

/// <summary>
/// One evaluator's scores in a candidate run against a baseline run of the same dataset version, paired by item.
/// <see cref="Verdict"/> is <see cref="ComparisonVerdicts.Regressed"/> or <see cref="ComparisonVerdicts.Improved"/>
/// only when the paired t-test is significant AND the mean difference is at least the minimum effect.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.EvaluatorComparison")]
public sealed record EvaluatorComparison(
    [property: Id(0)] string Evaluator,
    [property: Id(1)] int Paired,
    [property: Id(2)] double BaselineMean,
    [property: Id(3)] double CandidateMean,
    [property: Id(4)] double MeanDifference,
    [property: Id(5)] double CiLow,
    [property: Id(6)] double CiHigh,
    [property: Id(7)] double PValue,
    [property: Id(8)] string Verdict,
    [property: Id(9)] int RegressedCount,
    [property: Id(10)] IReadOnlyList<ItemScoreChange> Regressions,
    [property: Id(11)] int ImprovedCount,
    [property: Id(12)] IReadOnlyList<ItemScoreChange> Improvements,
    [property: Id(13)] int BaselineOnly,
    [property: Id(14)] int CandidateOnly,
    [property: Id(15)] double? BaselinePassRate,
    [property: Id(16)] double? CandidatePassRate,
    [property: Id(17)] int NewlyFailing,
    [property: Id(18)] int NewlyPassing);

public static class ComparisonVerdicts
{
    public const string Regressed = "regressed";
    public const string Improved = "improved";
    public const string Equal = "equal";
}

/// <summary>Per-evaluator running sums of a run (part of <see cref="RunAggregatorState"/>).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.EvaluatorTally")]
public sealed record EvaluatorTally(
    [property: Id(0)] string Name,
    [property: Id(1)] long Scored,
    [property: Id(2)] double ScoreSum,
    [property: Id(3)] long Passed,
    [property: Id(4)] long Unscored);

/// <summary>
/// The persisted state of a run's aggregates: counters, sums and a log-bucketed latency histogram
/// (bucket index -> count, only non-empty buckets), so its size stays flat however many items the run has.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.RunAggregatorState")]
public sealed record RunAggregatorState(
    [property: Id(0)] long Count,
    [property: Id(1)] long Errors,
    [property: Id(2)] long TokensIn,
    [property: Id(3)] long TokensOut,
    [property: Id(4)] long CostNanoUsd,
    [property: Id(5)] IReadOnlyList<EvaluatorTally> Evaluators,
    [property: Id(6)] IReadOnlyDictionary<int, long> LatencyBuckets,
    [property: Id(7)] long LatencyZeroCount,
    [property: Id(8)] double LatencySumMs,
    [property: Id(9)] double LatencyMaxMs);

/// <summary>An evaluator's aggregate over a run: mean score and pass rate over the items it could score.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.EvaluatorAggregate")]
public sealed record EvaluatorAggregate(
    [property: Id(0)] string Name,
    [property: Id(1)] long Scored,
    [property: Id(2)] double? MeanScore,
    [property: Id(3)] long Passed,
    [property: Id(4)] double? PassRate,
    [property: Id(5)] long Unscored);

/// <summary>A run's aggregates; latency percentiles are within 1% of the exact value (null before any item).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.RunAggregates")]
public sealed record RunAggregates(
    [property: Id(0)] long Count,
    [property: Id(1)] long Errors,
    [property: Id(2)] IReadOnlyList<EvaluatorAggregate> Evaluators,
    [property: Id(3)] double? LatencyP50Ms,
    [property: Id(4)] double? LatencyP95Ms,
    [property: Id(5)] double? LatencyP99Ms,
    [property: Id(6)] double? LatencyMeanMs,
    [property: Id(7)] double? LatencyMaxMs,
    [property: Id(8)] long TokensIn,
    [property: Id(9)] long TokensOut,
    [property: Id(10)] long CostNanoUsd);
