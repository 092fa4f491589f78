using Microsoft.Extensions.Logging;
using Orleans.Streams;
using Platform.Hosting;
using Platform.Tenants;

namespace Platform.Deployments;

[GenerateSerializer]
[Alias("Platform.Deployments.MonitorGrainState")]
public sealed class MonitorGrainState
{
    [Id(0)]
    public long Epoch { get; set; }

    [Id(1)]
    public ArmWindow Stable { get; set; } = new();

    [Id(2)]
    public ArmWindow Canary { get; set; } = new();

    [Id(3)]
    public long EventsIngested { get; set; }

    [Id(4)]
    public string? LastVerdict { get; set; }
}

/// <summary>
/// Subscribes (implicitly) to its deployment's inference stream, keeps per-arm windows for the current epoch,
/// flushes them every <see cref="FlushInterval"/> (a silo restart loses at most that much), and every second
/// evaluates the rollout policy and advances, promotes or rolls back the canary by itself.
/// </summary>
[ImplicitStreamSubscription(DeploymentStreams.Inference)]
public sealed partial class MonitorGrain(
    [PersistentState("monitor", PlatformStorage.Default)] IPersistentState<MonitorGrainState> state,
    TimeProvider time,
    ILogger<MonitorGrain> logger) : Grain, IMonitorGrain
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan EvaluateInterval = TimeSpan.FromSeconds(1);
    private static readonly Actor Monitor = new("monitor", "system", Role.Operator, "monitor");

    /// <summary>How far back <see cref="GetRangeAsync"/> can look.</summary>
    public const int RetainedMinutes = 60;

    // Minute buckets for time-range queries: in memory only (the experiment windows are what is persisted).
    private readonly SortedDictionary<long, (ArmWindow Stable, ArmWindow Canary)> _minutes = [];
    private bool _dirty;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var stream = this.GetStreamProvider(PlatformStorage.Streams)
            .GetStream<InferenceEvent>(StreamId.Create(DeploymentStreams.Inference, this.GetPrimaryKeyString()));
        await stream.SubscribeAsync(OnEventAsync);
        // Not keep-alive: events keep a busy monitor active; an idle one deactivates (flushing first) and a
        // deployment without traffic has nothing to decide.
        this.RegisterGrainTimer(FlushAsync, new GrainTimerCreationOptions(FlushInterval, FlushInterval) { KeepAlive = false });
        this.RegisterGrainTimer(EvaluateTimerAsync, new GrainTimerCreationOptions(EvaluateInterval, EvaluateInterval) { KeepAlive = false });
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await FlushAsync(cancellationToken);

    public Task<MonitorReport> GetReportAsync() =>
        Task.FromResult(new MonitorReport(state.State.Stable.Snapshot(), state.State.Canary.Snapshot(), state.State.LastVerdict, state.State.EventsIngested));

    public Task<MonitorReport> GetRangeAsync(DateTimeOffset from, DateTimeOffset to)
    {
        var stable = new ArmWindow();
        var canary = new ArmWindow();
        var first = from.ToUnixTimeSeconds() / 60;
        var last = (to.ToUnixTimeSeconds() - 1) / 60;
        long events = 0;
        foreach (var (minute, arms) in _minutes)
        {
            if (minute >= first && minute <= last)
            {
                stable.Merge(arms.Stable);
                canary.Merge(arms.Canary);
                events += arms.Stable.Requests + arms.Canary.Requests;
            }
        }

        return Task.FromResult(new MonitorReport(stable.Snapshot(), canary.Snapshot(), state.State.LastVerdict, events));
    }

    public async Task<string?> EvaluateAsync()
    {
        var key = this.GetPrimaryKeyString();
        var deployment = GrainFactory.GetGrain<IDeploymentGrain>(key);
        var snapshot = await deployment.GetAsync();
        if (snapshot is null)
        {
            return null;
        }

        Align(snapshot.Epoch);
        if (snapshot.Canary is null || snapshot.State != CanaryState.Running)
        {
            return state.State.LastVerdict;
        }

        var atStep = time.GetUtcNow() - (snapshot.StepStartedAt ?? time.GetUtcNow());
        var verdict = RolloutEvaluator.Evaluate(state.State.Stable, state.State.Canary, snapshot.Policy, snapshot.CanaryWeight, atStep);
        state.State.LastVerdict = verdict.Reason;
        if (verdict.Action != RolloutAction.None)
        {
            RolloutMetrics.Decided(snapshot.TenantId, verdict.Action);
        }

        try
        {
            switch (verdict.Action)
            {
                case RolloutAction.Rollback:
                    LogDecision(logger, key, "rollback", verdict.Reason);
                    await deployment.RollbackAsync(snapshot.Revision, "automatic: " + verdict.Reason, verdict.Evidence, Monitor);
                    break;
                case RolloutAction.Promote:
                    LogDecision(logger, key, "promote", verdict.Reason);
                    await deployment.PromoteAsync(snapshot.Revision, "automatic: " + verdict.Reason, verdict.Evidence, Monitor);
                    break;
                case RolloutAction.Advance:
                    LogDecision(logger, key, "advance", verdict.Reason);
                    await deployment.SetWeightAsync(verdict.NextWeight!.Value, snapshot.Revision, "automatic: " + verdict.Reason, verdict.Evidence, Monitor);
                    break;
            }
        }
        catch (PlatformException ex) when (ex.Kind == ErrorKind.Conflict)
        {
            // An operator acted in between: the next evaluation sees the new revision.
        }

        return verdict.Reason;
    }

    private Task OnEventAsync(InferenceEvent e, StreamSequenceToken? token)
    {
        if (e.Epoch > state.State.Epoch)
        {
            Align(e.Epoch);
        }

        if (e.Epoch == state.State.Epoch)
        {
            (e.Arm == Arms.Canary ? state.State.Canary : state.State.Stable).Record(e);
            state.State.EventsIngested++;
            _dirty = true;
        }

        var minute = e.At.ToUnixTimeSeconds() / 60;
        if (!_minutes.TryGetValue(minute, out var bucket))
        {
            bucket = (new ArmWindow(), new ArmWindow());
            _minutes[minute] = bucket;
            while (_minutes.Count > 0 && _minutes.First().Key < minute - RetainedMinutes)
            {
                _minutes.Remove(_minutes.First().Key);
            }
        }

        (e.Arm == Arms.Canary ? bucket.Canary : bucket.Stable).Record(e);
        return Task.CompletedTask;
    }

    /// <summary>A new epoch (canary started, promoted or rolled back) starts empty windows.</summary>
    private void Align(long epoch)
    {
        if (epoch != state.State.Epoch)
        {
            state.State.Epoch = epoch;
            state.State.Stable = new ArmWindow();
            state.State.Canary = new ArmWindow();
            _dirty = true;
        }
    }

    private async Task EvaluateTimerAsync(CancellationToken cancellationToken)
    {
        try
        {
            await EvaluateAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogEvaluationFailed(logger, this.GetPrimaryKeyString(), ex.GetType().Name);
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            await state.WriteStateAsync(cancellationToken);
            _dirty = false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Monitor {Deployment}: {Action} ({Reason})")]
    private static partial void LogDecision(ILogger logger, string deployment, string action, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Monitor {Deployment}: evaluation failed ({Reason})")]
    private static partial void LogEvaluationFailed(ILogger logger, string deployment, string reason);
}
