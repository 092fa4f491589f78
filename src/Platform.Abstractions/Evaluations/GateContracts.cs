namespace Platform.Evaluations;

/// <summary>
/// A deployment's evaluation gate: before a canary starts (<see cref="BeforeCanary"/>) and before it is promoted
/// (<see cref="BeforePromotion"/>, by an operator or by the monitor), the newest finished run of <see cref="Dataset"/> on
/// the canary's release must meet every threshold and, with <see cref="RequireNoRegression"/>, show no significant
/// regression against the newest finished run of the stable release on the same dataset version.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.EvaluationGate")]
public sealed record EvaluationGate(
    [property: Id(0)] string Dataset,
    [property: Id(1)] IReadOnlyList<GateThreshold>? Thresholds = null,
    [property: Id(2)] bool RequireNoRegression = true,
    [property: Id(3)] bool BeforeCanary = true,
    [property: Id(4)] bool BeforePromotion = true);

/// <summary>What one evaluator of the candidate's run must reach: a mean score, a pass rate, or both.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.GateThreshold")]
public sealed record GateThreshold(
    [property: Id(0)] string Evaluator,
    [property: Id(1)] double? MinMean = null,
    [property: Id(2)] double? MinPassRate = null);

/// <summary>A gate's decision with its numbers: which runs were looked at and every finding, passed or not.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.GateVerdict")]
public sealed record GateVerdict(
    [property: Id(0)] bool Passed,
    [property: Id(1)] string Reason,
    [property: Id(2)] string? Run,
    [property: Id(3)] string? BaselineRun,
    [property: Id(4)] IReadOnlyList<string> Findings);
