namespace Platform.Deployments;

/// <summary>What a deployment serves: a model route, optionally a prompt (by version or label), and parameters.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Deployments.Release")]
public sealed record Release(
    [property: Id(0)] string ModelRoute,
    [property: Id(1)] string? Prompt = null,
    [property: Id(2)] int? PromptVersion = null,
    [property: Id(3)] string? PromptLabel = null,
    [property: Id(4)] double? Temperature = null,
    [property: Id(5)] int? MaxTokens = null);

/// <summary>
/// When the monitor advances, promotes or rolls back a canary. Regressions are judged against stable only
/// with at least <see cref="MinSamplesPerArm"/> requests on each arm and a one-sided test at <see cref="ConfidenceZ"/>.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Deployments.RolloutPolicy")]
public sealed record RolloutPolicy(
    [property: Id(0)] int MinSamplesPerArm = 100,
    [property: Id(1)] double MaxErrorRateIncrease = 0.02,
    [property: Id(2)] double MaxP95LatencyIncrease = 0.30,
    [property: Id(3)] double MaxCostIncrease = 0.25,
    [property: Id(4)] double MaxQualityDecrease = 0.10,
    [property: Id(5)] IReadOnlyList<int>? Steps = null,
    [property: Id(6)] double MinDwellSeconds = 60,
    [property: Id(7)] double ConfidenceZ = 2.33,
    [property: Id(8)] bool AutoPromote = true,
    [property: Id(9)] double MinLatencyIncreaseMs = 10,
    [property: Id(10)] Platform.Evaluations.EvaluationGate? Gate = null)
{
    public IReadOnlyList<int> EffectiveSteps => Steps is { Count: > 0 } s ? s : [5, 25, 50, 100];
}

[GenerateSerializer]
[Alias("Platform.Deployments.CanaryState")]
public enum CanaryState
{
    None = 0,
    Running = 1,
    Paused = 2,
}

[GenerateSerializer]
[Immutable]
[Alias("Platform.Deployments.DeploymentDecision")]
public sealed record DeploymentDecision(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Action,
    [property: Id(2)] string By,
    [property: Id(3)] string Reason,
    [property: Id(4)] int? FromWeight,
    [property: Id(5)] int? ToWeight,
    [property: Id(6)] string? Evidence);

/// <summary>A page of a deployment's decisions, oldest first; <see cref="NextAfter"/> is the cursor of the next page (null on the last).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Deployments.DeploymentHistoryPage")]
public sealed record DeploymentHistoryPage(
    [property: Id(0)] IReadOnlyList<DeploymentDecision> Entries,
    [property: Id(1)] long? NextAfter,
    [property: Id(2)] long Total);

/// <summary>A deployment as the request path needs it, versioned so silos can cache it.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Deployments.DeploymentSnapshot")]
public sealed record DeploymentSnapshot(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string Name,
    [property: Id(2)] long Revision,
    [property: Id(3)] Release Stable,
    [property: Id(4)] Release? Canary,
    [property: Id(5)] int CanaryWeight,
    [property: Id(6)] CanaryState State,
    [property: Id(7)] RolloutPolicy Policy,
    [property: Id(8)] DateTimeOffset? StepStartedAt,
    [property: Id(9)] long Epoch);

/// <summary>One completed request, as published on the deployment's stream.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Deployments.InferenceEvent")]
public sealed record InferenceEvent(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string Deployment,
    [property: Id(2)] string Arm,
    [property: Id(3)] long Revision,
    [property: Id(4)] string ModelRoute,
    [property: Id(5)] DateTimeOffset At,
    [property: Id(6)] double LatencyMs,
    [property: Id(7)] double? TimeToFirstTokenMs,
    [property: Id(8)] bool Success,
    [property: Id(9)] int StatusCode,
    [property: Id(10)] long InputTokens,
    [property: Id(11)] long OutputTokens,
    [property: Id(12)] decimal CostUsd,
    [property: Id(13)] double? Quality,
    [property: Id(14)] long Epoch);

public static class Arms
{
    public const string Stable = "stable";
    public const string Canary = "canary";
}

public static class DeploymentStreams
{
    /// <summary>Stream namespace of inference events; the stream key is <c>{tenant}/{deployment}</c>.</summary>
    public const string Inference = "inference";
}

/// <summary>Rolling metrics of one arm.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Deployments.ArmMetrics")]
public sealed record ArmMetrics(
    [property: Id(0)] long Requests,
    [property: Id(1)] long Errors,
    [property: Id(2)] double ErrorRate,
    [property: Id(3)] double P50LatencyMs,
    [property: Id(4)] double P95LatencyMs,
    [property: Id(5)] double MeanCostUsd,
    [property: Id(6)] double? MeanQuality,
    [property: Id(7)] long InputTokens,
    [property: Id(8)] long OutputTokens);

[GenerateSerializer]
[Immutable]
[Alias("Platform.Deployments.MonitorReport")]
public sealed record MonitorReport(
    [property: Id(0)] ArmMetrics Stable,
    [property: Id(1)] ArmMetrics Canary,
    [property: Id(2)] string? LastVerdict,
    [property: Id(3)] long EventsIngested);
