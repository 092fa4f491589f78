using System.Collections;
using Microsoft.Extensions.Logging;
using Platform.Deployments;
using Platform.Evaluations.Comparisons;
using Platform.Hosting;
using Platform.Tenants;

namespace Platform.Evaluations;

[GenerateSerializer]
[Alias("Platform.Evaluations.EvaluationRunState")]
public sealed class EvaluationRunState
{
    [Id(0)]
    public EvaluationRunInfo? Info { get; set; }

    [Id(1)]
    public string KeyId { get; set; } = "";
}

/// <summary>
/// One evaluation run. The run's loop walks the dataset version page by page, keeps at most the spec's concurrency of
/// items in flight (each on the thread pool, through <see cref="IEvaluationItemRunner"/>), and stores finished items in
/// result pages every <see cref="FlushInterval"/> or <see cref="FlushCount"/> results, then the run's progress. After a
/// restart the loop first reads the stored pages: those items are done and are never called again; only the items that
/// were in flight, or finished but not yet stored, when the silo died are run again.
/// </summary>
/// <remarks>
/// Reentrant so that reads and cancellation are answered while the loop awaits; only the loop writes results and progress
/// (cancellation writes the status, which the loop reads before each write).
/// </remarks>
[Orleans.Concurrency.Reentrant]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Disposed when the activation ends (OnDeactivateAsync).")]
public sealed partial class EvaluationRunGrain(
    [PersistentState("evaluation-run", PlatformStorage.Default)] IPersistentState<EvaluationRunState> state,
    IEvaluationItemRunner runner,
    TimeProvider time,
    ILogger<EvaluationRunGrain> logger) : Grain, IEvaluationRunGrain, IRemindable
{
    public const int FlushCount = 50;
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(250);
    private const string ResumeReminder = "resume";

    private readonly List<EvaluationItemResult> _finished = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private string? _halted;

    private (string Tenant, string Run) Key => TenantIds.Split(this.GetPrimaryKeyString());

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Info is { Status: EvaluationRunStatus.Running })
        {
            StartLoop();
        }

        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        if (_loop is { } loop)
        {
            await loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        }

        _stop.Dispose();
    }

    public async Task<EvaluationRunInfo> StartAsync(EvaluationRunSpec spec, Release release, int totalItems, Actor actor)
    {
        if (state.State.Info is { } existing)
        {
            return existing;
        }

        var info = new EvaluationRunInfo(
            Key.Run, spec, release, EvaluationRunStatus.Running, time.GetUtcNow(), actor.KeyId, null, totalItems, 0, 0, null, null);

        // The tenant's index admits the run first (it refuses one past the tenant's running runs), so a refused run stores nothing.
        var index = GrainFactory.GetGrain<IEvaluationRunIndexGrain>(Key.Tenant);
        await index.AddAsync(Summary(info));
        state.State.Info = info;
        state.State.KeyId = actor.KeyId;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Not stored: the index learns the run failed (or finds out itself when the tenant is at its limit).
            state.State.Info = null;
            await index.UpdateAsync(Summary(info with { Status = EvaluationRunStatus.Failed }))
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
            throw;
        }

        await this.RegisterOrUpdateReminder(ResumeReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        StartLoop(fresh: true);
        return info;
    }

    public Task<EvaluationRunInfo?> GetAsync() => Task.FromResult(state.State.Info);

    public async Task<EvaluationRunInfo?> CancelAsync(Actor actor, string? reason = null)
    {
        if (state.State.Info is not { Status: EvaluationRunStatus.Running or EvaluationRunStatus.Pending } info)
        {
            return state.State.Info;
        }

        LogCancelled(logger, Key.Tenant, Key.Run, actor.KeyId);
        state.State.Info = info with
        {
            Status = EvaluationRunStatus.Cancelled,
            FinishedAt = time.GetUtcNow(),
            Error = $"cancelled by key {actor.KeyId}" + (string.IsNullOrWhiteSpace(reason) ? "" : ": " + TextLimits.Truncate(reason, TextLimits.Reason)),
        };
        await state.WriteStateAsync();
        await _stop.CancelAsync();
        if (_loop is { } loop)
        {
            // The loop stores what finished and the final counts.
            await loop;
        }
        else
        {
            await UpdateIndexAsync();
            await StopRemindingAsync();
        }

        return state.State.Info;
    }

    public async Task<EvaluationResultPage> GetResultsAsync(int offset, int limit)
    {
        var total = state.State.Info?.TotalItems ?? 0;
        var items = new List<EvaluationItemResult>(Math.Min(limit, 1000));
        var index = offset;
        while (items.Count < limit && index < total)
        {
            var page = index / IEvaluationResultPageGrain.PageSize;
            var stored = await Page(page).GetAsync();
            foreach (var result in stored)
            {
                if (result.Index >= index && items.Count < limit)
                {
                    items.Add(result);
                }
            }

            index = (page + 1) * IEvaluationResultPageGrain.PageSize;
        }

        var next = items.Count == limit && items[^1].Index + 1 < total ? items[^1].Index + 1 : (int?)null;
        return new EvaluationResultPage(items, next);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Info is { Status: EvaluationRunStatus.Running })
        {
            StartLoop();
            return Task.CompletedTask;
        }

        return StopRemindingAsync();
    }

    /// <param name="fresh">A run just started, which has nothing stored yet: its result pages need not be read.</param>
    private void StartLoop(bool fresh = false)
    {
        if (_loop is null || _loop.IsCompleted)
        {
            _loop = RunLoopAsync(fresh, _stop.Token);
        }
    }

    private IEvaluationResultPageGrain Page(int page) =>
        GrainFactory.GetGrain<IEvaluationResultPageGrain>(EvaluationKeys.ResultPage(Key.Tenant, Key.Run, page));

    private async Task RunLoopAsync(bool fresh, CancellationToken stop)
    {
        var info = state.State.Info!;
        var inFlight = new List<Task>();
        RunProgress? progress = null;

        // A timer that keeps the activation alive while the loop runs (idle collection would otherwise stop it).
        using var keepAlive = this.RegisterGrainTimer(static () => Task.CompletedTask, new GrainTimerCreationOptions(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)) { KeepAlive = true });
        try
        {
            var run = new EvaluationRunContext(Key.Tenant, Key.Run, state.State.KeyId, info.Spec, info.Release);
            // A resumed run reads every page (a run of 100,000 items: 2,000 grain calls); a fresh one has none to read.
            progress = fresh ? new RunProgress(info.TotalItems) : await ReadStoredAsync(info.TotalItems);
            var dataset = GrainFactory.GetGrain<IDatasetGrain>(DatasetNames.Key(Key.Tenant, info.Spec.Dataset));
            var version = await dataset.GetVersionAsync(info.Spec.DatasetVersion)
                ?? throw new EvaluationHaltedException($"Dataset '{info.Spec.Dataset}' version {info.Spec.DatasetVersion} no longer exists.");
            using var slots = new SemaphoreSlim(Math.Clamp(info.Spec.Concurrency, 1, EvaluationRunLimits.MaxConcurrency));
            var index = 0;
            var lastFlush = time.GetTimestamp();
            for (var page = 0; page < version.PageCount && _halted is null; page++)
            {
                foreach (var item in await dataset.ReadPageAsync(version.Version, page))
                {
                    var at = index++;
                    if (progress.Done[at])
                    {
                        continue;
                    }

                    await slots.WaitAsync(stop);
                    if (_halted is not null)
                    {
                        slots.Release();
                        break;
                    }

                    inFlight.RemoveAll(t => t.IsCompleted);
                    inFlight.Add(RunItemAsync(run, item, at, slots, stop));
                    if (FinishedCount() >= FlushCount || time.GetElapsedTime(lastFlush) >= FlushInterval)
                    {
                        await FlushAsync(progress);
                        lastFlush = time.GetTimestamp();
                    }
                }
            }

            await Task.WhenAll(inFlight);
            await FlushAsync(progress);
            await FinishAsync(progress, _halted);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Cancelled, or the activation is going away: the items in flight end (their calls are cancelled) and what
            // finished is stored. A cancelled run records its final counts; a deactivated one resumes on its next activation.
            await Task.WhenAll(inFlight).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
            if (progress is not null)
            {
                await FlushAsync(progress);
                if (state.State.Info is { Status: EvaluationRunStatus.Cancelled })
                {
                    await FinishAsync(progress, null);
                }
            }
        }
        catch (EvaluationHaltedException ex)
        {
            await FinishAsync(null, ex.Message);
        }
        catch (Exception ex)
        {
            // Storage or a grain call failed: the reminder resumes the run from what was stored.
            LogLoopFailed(logger, ex, Key.Tenant, Key.Run);
        }
    }

    private async Task RunItemAsync(EvaluationRunContext run, DatasetItem item, int index, SemaphoreSlim slots, CancellationToken stop)
    {
        try
        {
            var result = await Task.Run(() => runner.RunAsync(run, item, index, stop), stop);
            lock (_finished)
            {
                _finished.Add(result.Bounded());
            }
        }
        catch (EvaluationHaltedException ex)
        {
            _halted ??= ex.Message;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The run was cancelled: the item is not stored and counts as not run.
        }
        catch (Exception ex)
        {
            // Anything else the runner throws fails this item, stored like a failed call. Left to fault, the item was
            // dropped unseen, or the loop stopped and its reminder ran (and billed) the same items again every minute.
            LogItemFailed(logger, ex, Key.Tenant, Key.Run, index);
            var error = ex is PlatformException platform
                ? platform.Message
                : "The item could not be evaluated because of an internal error; the silo's log has the details.";
            lock (_finished)
            {
                _finished.Add(new EvaluationItemResult(index, item.Id, null, 0, 0, 0, 0, 0, error, []).Bounded());
            }
        }
        finally
        {
            slots.Release();
        }
    }

    private int FinishedCount()
    {
        lock (_finished)
        {
            return _finished.Count;
        }
    }

    /// <summary>Stores the finished items in their pages, then the run's progress.</summary>
    private async Task FlushAsync(RunProgress progress)
    {
        List<EvaluationItemResult> batch;
        lock (_finished)
        {
            if (_finished.Count == 0)
            {
                return;
            }

            batch = [.. _finished];
            _finished.Clear();
        }

        try
        {
            await Task.WhenAll(batch.GroupBy(r => r.Index / IEvaluationResultPageGrain.PageSize).Select(g => Page(g.Key).AddAsync([.. g])));
        }
        catch
        {
            lock (_finished)
            {
                _finished.AddRange(batch);
            }

            throw;
        }

        foreach (var result in batch)
        {
            progress.Add(result);
        }

        if (state.State.Info is { Status: EvaluationRunStatus.Running or EvaluationRunStatus.Cancelled } info)
        {
            state.State.Info = info with
            {
                CompletedItems = progress.Completed, FailedItems = progress.Failed, Aggregates = progress.Aggregates(), JudgeCostNanoUsd = progress.JudgeCostNanoUsd,
            };
            await state.WriteStateAsync();
        }
    }

    private async Task FinishAsync(RunProgress? progress, string? error)
    {
        var info = state.State.Info!;
        var status = info.Status == EvaluationRunStatus.Cancelled
            ? EvaluationRunStatus.Cancelled
            : error is not null ? EvaluationRunStatus.Failed : EvaluationRunStatus.Completed;
        state.State.Info = info with
        {
            Status = status,
            Error = error ?? info.Error,
            FinishedAt = info.FinishedAt ?? time.GetUtcNow(),
            CompletedItems = progress?.Completed ?? info.CompletedItems,
            FailedItems = progress?.Failed ?? info.FailedItems,
            Aggregates = progress?.Aggregates() ?? info.Aggregates,
            JudgeCostNanoUsd = progress?.JudgeCostNanoUsd ?? info.JudgeCostNanoUsd,
        };
        await state.WriteStateAsync();
        await UpdateIndexAsync();
        await StopRemindingAsync();
        LogFinished(logger, Key.Tenant, Key.Run, status, state.State.Info.CompletedItems, state.State.Info.TotalItems);
    }

    /// <summary>The items already stored (after a restart: everything stored before it), read page by page.</summary>
    private async Task<RunProgress> ReadStoredAsync(int total)
    {
        var progress = new RunProgress(total);
        var pages = (total + IEvaluationResultPageGrain.PageSize - 1) / IEvaluationResultPageGrain.PageSize;
        for (var page = 0; page < pages; page++)
        {
            foreach (var result in await Page(page).GetAsync())
            {
                progress.Add(result);
            }
        }

        return progress;
    }

    private async Task StopRemindingAsync()
    {
        if (await this.GetReminder(ResumeReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private Task UpdateIndexAsync() => GrainFactory.GetGrain<IEvaluationRunIndexGrain>(Key.Tenant).UpdateAsync(Summary(state.State.Info!));

    private static EvaluationRunSummary Summary(EvaluationRunInfo info) => new(
        info.Id, info.Spec.Dataset, info.Spec.DatasetVersion, EvaluationReleases.Describe(info.Release), info.Status, info.CreatedAt,
        info.TotalItems, info.CompletedItems, info.Spec.Name);

    /// <summary>Which items are stored, and the aggregates over them.</summary>
    private sealed class RunProgress(int total)
    {
        private readonly RunAggregator _aggregator = new();

        public BitArray Done { get; } = new(total);

        public int Completed { get; private set; }

        public int Failed { get; private set; }

        public void Add(EvaluationItemResult result)
        {
            if (result.Index < 0 || result.Index >= Done.Length || Done[result.Index])
            {
                return;
            }

            Done[result.Index] = true;
            Completed++;
            if (result.Error is not null)
            {
                Failed++;
            }

            JudgeCostNanoUsd += result.JudgeCostNanoUsd;
            _aggregator.Add(
                result.LatencyMs, result.InputTokens, result.OutputTokens, result.CostNanoUsd, result.Error is not null,
                result.Scores.Select(s => new EvaluatorItemScore(s.Evaluator, s.Score, s.Passed)));
        }

        public long JudgeCostNanoUsd { get; private set; }

        public RunAggregates Aggregates() => _aggregator.Snapshot();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Evaluation run {Tenant}/{Run} cancelled by key {KeyId}")]
    private static partial void LogCancelled(ILogger logger, string tenant, string run, string keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Evaluation run {Tenant}/{Run} ended {Status}: {Completed} of {Total} items")]
    private static partial void LogFinished(ILogger logger, string tenant, string run, EvaluationRunStatus status, int completed, int total);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Evaluation run {Tenant}/{Run}: item {Index} failed with an unexpected error")]
    private static partial void LogItemFailed(ILogger logger, Exception exception, string tenant, string run, int index);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Evaluation run {Tenant}/{Run} stopped on an error; its reminder resumes it")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception, string tenant, string run);
}

/// <summary>Bounds of a run's request.</summary>
public static class EvaluationRunLimits
{
    public const int MaxConcurrency = 64;
    public const int MaxItemRetries = 5;
}

public static class EvaluationReleases
{
    /// <summary>A release in words: <c>route</c>, or <c>prompt@version on route</c>.</summary>
    public static string Describe(Release release) => release.Prompt is null
        ? release.ModelRoute
        : $"{release.Prompt}@{release.PromptVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? release.PromptLabel ?? "latest"} on {release.ModelRoute}";
}
