using Platform.Tenants;

namespace Platform.Deployments;

/// <summary>A deployment: stable release, at most one canary with a weight, policy and history. Key: <c>{tenant}/{deployment}</c>.</summary>
[Alias("Platform.Deployments.IDeploymentGrain")]
public interface IDeploymentGrain : IGrainWithStringKey
{
    [Alias("CreateAsync")]
    Task<DeploymentSnapshot> CreateAsync(Release stable, RolloutPolicy policy, Actor actor);

    /// <summary>The deployment, or null when it does not exist.</summary>
    [Alias("GetAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<DeploymentSnapshot?> GetAsync();

    /// <summary>Decisions <paramref name="after"/> + 1 .. <paramref name="after"/> + <paramref name="limit"/>, oldest first.</summary>
    [Alias("GetHistoryAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<DeploymentHistoryPage> GetHistoryAsync(long after, int limit);

    /// <summary>
    /// Starts a canary; with an evaluation gate in the policy, only when the gate passes or <paramref name="gateOverride"/>
    /// gives the operator's reason to start anyway (the verdict and any override go into the history and the audit log).
    /// </summary>
    [Alias("StartCanaryAsync")]
    Task<DeploymentSnapshot> StartCanaryAsync(Release canary, int? weight, RolloutPolicy? policy, string reason, Actor actor, string? gateOverride = null);

    /// <summary>Sets the canary weight; <paramref name="expectedRevision"/> (when given) must match, so a stale decision never lands.</summary>
    [Alias("SetWeightAsync")]
    Task<DeploymentSnapshot> SetWeightAsync(int weight, long? expectedRevision, string reason, string? evidence, Actor actor);

    [Alias("PauseAsync")]
    Task<DeploymentSnapshot> PauseAsync(bool paused, string reason, Actor actor);

    /// <summary>Promotes the canary; an evaluation gate applies as to <see cref="StartCanaryAsync"/> (to the monitor's promotions too).</summary>
    [Alias("PromoteAsync")]
    Task<DeploymentSnapshot> PromoteAsync(long? expectedRevision, string reason, string? evidence, Actor actor, string? gateOverride = null);

    [Alias("RollbackAsync")]
    Task<DeploymentSnapshot> RollbackAsync(long? expectedRevision, string reason, string? evidence, Actor actor);
}

/// <summary>Aggregates a deployment's inference events per arm and decides rollouts. Key: <c>{tenant}/{deployment}</c>.</summary>
[Alias("Platform.Deployments.IMonitorGrain")]
public interface IMonitorGrain : IGrainWithStringKey
{
    [Alias("GetReportAsync")]
    [Idempotent]
    Task<MonitorReport> GetReportAsync();

    /// <summary>Per-arm metrics of the requests in [from, to), at minute resolution, over the last hour.</summary>
    [Alias("GetRangeAsync")]
    [Idempotent]
    Task<MonitorReport> GetRangeAsync(DateTimeOffset from, DateTimeOffset to);

    /// <summary>Evaluates the rollout policy now (also runs every second by itself).</summary>
    [Alias("EvaluateAsync")]
    Task<string?> EvaluateAsync();
}
