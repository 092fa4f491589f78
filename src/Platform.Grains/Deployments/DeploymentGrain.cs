using System.Text.Json;
using Microsoft.Extensions.Logging;
using Platform.Evaluations;
using Platform.Hosting;
using Platform.Notifications;
using Platform.Segments;
using Platform.Tenants;

namespace Platform.Deployments;

[GenerateSerializer]
[Alias("Platform.Deployments.DeploymentGrainState")]
public sealed class DeploymentGrainState
{
    [Id(0)]
    public DeploymentSnapshot? Snapshot { get; set; }

    /// <summary>The newest decisions (older ones are sealed in segments; before segments existed: every decision).</summary>
    [Id(1)]
    public List<DeploymentDecision> History { get; set; } = [];

    [Id(2)]
    public int HistorySegments { get; set; }

    /// <summary>Audit records of saved changes not yet in the tenant's log (see <see cref="AuditOutbox"/>).</summary>
    [Id(3)]
    public List<AuditRecord> PendingAudit { get; set; } = [];
}

/// <summary>
/// Single writer of a deployment: every change bumps the revision (so a decision taken on an older revision is
/// refused with 409) and is recorded in the history and the tenant's audit log. The epoch changes when a canary
/// starts, is promoted or is rolled back, so monitors compare only traffic of the current experiment.
/// </summary>
public sealed class DeploymentGrain(
    [PersistentState("deployment", PlatformStorage.Default)] IPersistentState<DeploymentGrainState> state,
    TimeProvider time,
    ILogger<DeploymentGrain> logger) : Grain, IDeploymentGrain
{
    private AuditOutbox? _audit;

    private (string Tenant, string Name) Key => TenantIds.Split(this.GetPrimaryKeyString());

    private string HistoryKey => "deployments/" + this.GetPrimaryKeyString();

    private AuditOutbox Audit => _audit ??= new AuditOutbox(this, GrainFactory, () => Key.Tenant, () => state.State.PendingAudit, () => state.WriteStateAsync(), time, logger);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var s = state.State;
        if (s.HistorySegments == 0 && s.History.Count > SegmentedList.SegmentSize)
        {
            // Stored as one list before segments existed.
            s.HistorySegments = await SegmentedList.MigrateAsync(GrainFactory, HistoryKey, 0, s.History);
            await state.WriteStateAsync(cancellationToken);
        }

        Audit.ResumeIfPending();
    }

    public async Task<DeploymentSnapshot> CreateAsync(Release stable, RolloutPolicy policy, Actor actor)
    {
        if (state.State.Snapshot is not null)
        {
            throw new PlatformException(ErrorKind.Conflict, $"Deployment '{Key.Name}' already exists.", "name");
        }

        ValidatePolicy(policy);
        ValidateRelease(stable, "stable");
        var snapshot = new DeploymentSnapshot(Key.Tenant, Key.Name, 1, stable, null, 0, CanaryState.None, policy, null, 1);
        return await CommitAsync(snapshot, "create", actor, "created", null, null, null);
    }

    public Task<DeploymentSnapshot?> GetAsync() => Task.FromResult(state.State.Snapshot);

    public async Task<DeploymentHistoryPage> GetHistoryAsync(long after, int limit)
    {
        var (entries, next) = await SegmentedList.PageAsync(GrainFactory, HistoryKey, state.State.HistorySegments, state.State.History, after, limit);
        return new DeploymentHistoryPage(entries, next, SegmentedList.Count(state.State.HistorySegments, state.State.History));
    }

    public async Task<DeploymentSnapshot> StartCanaryAsync(Release canary, int? weight, RolloutPolicy? policy, string reason, Actor actor, string? gateOverride = null)
    {
        var current = Require();
        if (current.Canary is not null)
        {
            throw new PlatformException(ErrorKind.Conflict, "A canary is already running; promote or roll it back first.", "canary");
        }

        var effective = policy ?? current.Policy;
        ValidatePolicy(effective);
        ValidateRelease(canary, "release");
        var start = weight ?? effective.EffectiveSteps[0];
        ValidateWeight(start);
        if (effective.Gate is { BeforeCanary: true } gate)
        {
            await PassGateAsync(current, gate, canary, "before the canary starts", actor, gateOverride);
        }

        var next = current with
        {
            Revision = current.Revision + 1,
            Canary = canary,
            CanaryWeight = start,
            State = CanaryState.Running,
            Policy = effective,
            StepStartedAt = time.GetUtcNow(),
            Epoch = current.Epoch + 1,
        };
        return await CommitAsync(next, "canary.start", actor, reason, 0, start, null);
    }

    public async Task<DeploymentSnapshot> SetWeightAsync(int weight, long? expectedRevision, string reason, string? evidence, Actor actor)
    {
        var current = RequireCanary(expectedRevision);
        ValidateWeight(weight);
        var next = current with { Revision = current.Revision + 1, CanaryWeight = weight, StepStartedAt = time.GetUtcNow() };
        return await CommitAsync(next, "canary.weight", actor, reason, current.CanaryWeight, weight, evidence);
    }

    public async Task<DeploymentSnapshot> PauseAsync(bool paused, string reason, Actor actor)
    {
        var current = RequireCanary(null);
        var next = current with
        {
            Revision = current.Revision + 1,
            State = paused ? CanaryState.Paused : CanaryState.Running,
            StepStartedAt = paused ? current.StepStartedAt : time.GetUtcNow(),
        };
        return await CommitAsync(next, paused ? "canary.pause" : "canary.resume", actor, reason, current.CanaryWeight, current.CanaryWeight, null);
    }

    public async Task<DeploymentSnapshot> PromoteAsync(long? expectedRevision, string reason, string? evidence, Actor actor, string? gateOverride = null)
    {
        var current = RequireCanary(expectedRevision);
        if (current.Policy.Gate is { BeforePromotion: true } gate)
        {
            await PassGateAsync(current, gate, current.Canary!, "before promotion", actor, gateOverride);
            current = RequireCanary(expectedRevision);
        }

        var next = current with
        {
            Revision = current.Revision + 1,
            Stable = current.Canary!,
            Canary = null,
            CanaryWeight = 0,
            State = CanaryState.None,
            StepStartedAt = null,
            Epoch = current.Epoch + 1,
        };
        return await CommitAsync(next, "canary.promote", actor, reason, current.CanaryWeight, 100, evidence);
    }

    public async Task<DeploymentSnapshot> RollbackAsync(long? expectedRevision, string reason, string? evidence, Actor actor)
    {
        var current = RequireCanary(expectedRevision);
        var next = current with
        {
            Revision = current.Revision + 1,
            Canary = null,
            CanaryWeight = 0,
            State = CanaryState.None,
            StepStartedAt = null,
            Epoch = current.Epoch + 1,
        };
        var snapshot = await CommitAsync(next, "canary.rollback", actor, reason, current.CanaryWeight, 0, evidence);
        RolloutMetrics.RolledBack(current.TenantId, automatic: actor.KeyId == "monitor");
        return snapshot;
    }

    /// <summary>
    /// Checks the evaluation gate on <paramref name="candidate"/> and records the verdict in the history (the snapshot is
    /// unchanged); a failed gate without an override is a 409 naming what failed. The monitor's repeated attempts record
    /// one blocked verdict, not one a second.
    /// </summary>
    private async Task PassGateAsync(DeploymentSnapshot current, EvaluationGate gate, Release candidate, string when, Actor actor, string? gateOverride)
    {
        var verdict = await GateRuns.CheckAsync(GrainFactory, Key.Tenant, gate, candidate, current.Stable);
        var evidence = JsonSerializer.Serialize(verdict, GateJson.Options);
        var overridden = !verdict.Passed && !string.IsNullOrWhiteSpace(gateOverride);
        var action = verdict.Passed ? "gate.passed" : overridden ? "gate.overridden" : "gate.blocked";
        var reason = overridden ? $"{when}: {verdict.Reason}; overridden: {gateOverride}" : $"{when}: {verdict.Reason}";
        var last = state.State.History.Count > 0 ? state.State.History[^1] : null;
        if (!(action == "gate.blocked" && last is { Action: "gate.blocked" } && last.Evidence == TextLimits.Truncate(evidence, TextLimits.Evidence)))
        {
            await CommitAsync(current, action, actor, TextLimits.Truncate(reason, TextLimits.Reason)!, current.CanaryWeight, current.CanaryWeight, evidence);
        }

        if (!verdict.Passed && !overridden)
        {
            throw new PlatformException(ErrorKind.Conflict, $"The evaluation gate blocks this {(when.Contains("promotion", StringComparison.Ordinal) ? "promotion" : "canary")}: {verdict.Reason}.", "gate");
        }
    }

    private async Task<DeploymentSnapshot> CommitAsync(DeploymentSnapshot next, string action, Actor actor, string reason, int? from, int? to, string? evidence)
    {
        TextLimits.Require(reason, TextLimits.Reason, "reason");
        var s = state.State;
        var (previous, history, sealedSegments) = (s.Snapshot, s.History, s.HistorySegments);
        var decision = new DeploymentDecision(time.GetUtcNow(), action, actor.KeyId, reason, from, to, TextLimits.Truncate(evidence, TextLimits.Evidence));
        if (await SegmentedList.SealIfFullAsync(GrainFactory, HistoryKey, s.HistorySegments, s.History))
        {
            s.History = [];
            s.HistorySegments++;
        }

        s.Snapshot = next;
        s.History.Add(decision);
        var record = Audit.Add(
            actor, "deployment." + action, $"deployment/{Key.Name}",
            previous is null ? null : $"revision={previous.Revision}; canaryWeight={previous.CanaryWeight}",
            $"revision={next.Revision}; canaryWeight={next.CanaryWeight}; reason={reason}");
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            history.Remove(decision);
            (s.Snapshot, s.History, s.HistorySegments) = (previous, history, sealedSegments);
            Audit.Remove(record);
            throw;
        }

        await Audit.DeliverAsync();
        Notify(decision, actor);
        return next;
    }

    /// <summary>Tells the tenant's webhook (one-way: delivery and its retries never hold up the deployment).</summary>
    private void Notify(DeploymentDecision decision, Actor actor)
    {
        string? @event = decision.Action switch
        {
            "canary.start" => NotificationEvents.CanaryStarted,
            "canary.weight" => NotificationEvents.StepAdvanced,
            "canary.promote" => NotificationEvents.Promoted,
            "canary.rollback" => NotificationEvents.RolledBack,
            _ => null,
        };
        if (@event is null)
        {
            return;
        }

        var notifications = GrainFactory.GetGrain<INotificationGrain>(Key.Tenant);
        var subject = $"deployment/{Key.Name}";
        if (@event == NotificationEvents.RolledBack && actor.KeyId == "monitor")
        {
            _ = notifications.NotifyAsync(new Notification(NotificationEvents.PolicyBreached, Key.Tenant, subject, decision.At, decision.Reason, decision.Evidence, decision.FromWeight, decision.ToWeight, Guid.NewGuid().ToString("N")));
        }

        _ = notifications.NotifyAsync(new Notification(@event, Key.Tenant, subject, decision.At, decision.Reason, decision.Evidence, decision.FromWeight, decision.ToWeight, Guid.NewGuid().ToString("N")));
    }

    private DeploymentSnapshot Require() =>
        state.State.Snapshot ?? throw PlatformException.NotFound($"Deployment '{Key.Name}'");

    private DeploymentSnapshot RequireCanary(long? expectedRevision)
    {
        var current = Require();
        if (expectedRevision is { } expected && expected != current.Revision)
        {
            throw new PlatformException(ErrorKind.Conflict, $"The deployment changed (revision {current.Revision}, not {expected}); read it again.", "revision");
        }

        return current.Canary is not null
            ? current
            : throw new PlatformException(ErrorKind.Conflict, "No canary is running.", "canary");
    }

    private static void ValidateWeight(int weight)
    {
        if (weight is < 0 or > 100)
        {
            throw new PlatformException(ErrorKind.Invalid, $"weight must be between 0 and 100 (was {weight}).", "weight");
        }
    }

    private static void ValidateRelease(Release release, string field)
    {
        TextLimits.Require(release.ModelRoute, TextLimits.Name, $"{field}.modelRoute");
        TextLimits.Require(release.Prompt, TextLimits.Name, $"{field}.prompt");
        TextLimits.Require(release.PromptLabel, TextLimits.Token, $"{field}.promptLabel");
    }

    private static void ValidatePolicy(RolloutPolicy policy)
    {
        TextLimits.RequireCount(policy.Steps, TextLimits.ListItems, "policy.steps");
        if (policy.MinSamplesPerArm < 1 || policy.MinDwellSeconds < 0 || policy.ConfidenceZ < 0
            || policy.MaxErrorRateIncrease < 0 || policy.MaxP95LatencyIncrease < 0 || policy.MaxCostIncrease < 0 || policy.MaxQualityDecrease < 0)
        {
            throw new PlatformException(ErrorKind.Invalid, "policy values must be non-negative and minSamplesPerArm at least 1.", "policy");
        }

        if (policy.EffectiveSteps.Any(s => s is < 1 or > 100) || !policy.EffectiveSteps.SequenceEqual(policy.EffectiveSteps.Order()))
        {
            throw new PlatformException(ErrorKind.Invalid, "policy.steps must be increasing weights between 1 and 100.", "policy.steps");
        }

        if (policy.Gate is { } gate)
        {
            ValidateGate(gate);
        }
    }

    private static void ValidateGate(EvaluationGate gate)
    {
        if (!DatasetNames.IsValid(gate.Dataset))
        {
            throw new PlatformException(ErrorKind.Invalid, "policy.gate.dataset must name a dataset (lowercase letters, digits, '-', '_', '.').", "policy.gate.dataset");
        }

        TextLimits.RequireCount(gate.Thresholds, 20, "policy.gate.thresholds");
        for (var i = 0; i < (gate.Thresholds?.Count ?? 0); i++)
        {
            var t = gate.Thresholds![i];
            var at = $"policy.gate.thresholds[{i}]";
            if (t is null || string.IsNullOrWhiteSpace(t.Evaluator) || t.Evaluator.Length > 64)
            {
                throw new PlatformException(ErrorKind.Invalid, $"{at}.evaluator must name one of the run's evaluators (1-64 characters).", $"{at}.evaluator");
            }

            if (t.MinMean is null && t.MinPassRate is null)
            {
                throw new PlatformException(ErrorKind.Invalid, $"{at} must set minMean, minPassRate or both.", at);
            }

            if (t.MinMean is < 0 or > 1 || t.MinPassRate is < 0 or > 1 || (t.MinMean is { } m && double.IsNaN(m)) || (t.MinPassRate is { } r && double.IsNaN(r)))
            {
                throw new PlatformException(ErrorKind.Invalid, $"{at}: minMean and minPassRate must be between 0 and 1.", at);
            }
        }
    }
}

internal static class GateJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
