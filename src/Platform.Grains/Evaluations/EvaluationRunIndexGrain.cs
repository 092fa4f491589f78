using Platform.Hosting;

namespace Platform.Evaluations;

[GenerateSerializer]
[Alias("Platform.Evaluations.EvaluationRunIndexState")]
public sealed class EvaluationRunIndexState
{
    /// <summary>Newest first.</summary>
    [Id(0)]
    public List<EvaluationRunSummary> Runs { get; set; } = [];
}

/// <summary>A tenant's most recent runs, for listing; the runs themselves live in their own grains.</summary>
public sealed class EvaluationRunIndexGrain(
    [PersistentState("evaluation-runs", PlatformStorage.Default)] IPersistentState<EvaluationRunIndexState> state)
    : Grain, IEvaluationRunIndexGrain
{
    public async Task AddAsync(EvaluationRunSummary run)
    {
        var runs = state.State.Runs;
        if (runs.Exists(r => r.Id == run.Id))
        {
            return;
        }

        if (IsRunning(run) && await CountRunningAsync() >= IEvaluationRunIndexGrain.MaxRunning)
        {
            throw new PlatformException(
                ErrorKind.RateLimited,
                $"This tenant already has {IEvaluationRunIndexGrain.MaxRunning} evaluation runs running, the limit; wait for one to finish or cancel one.",
                code: "too_many_running_runs")
            {
                RetryAfterSeconds = 30,
            };
        }

        runs.Insert(0, run);
        if (runs.Count > IEvaluationRunIndexGrain.MaxRuns)
        {
            runs.RemoveRange(IEvaluationRunIndexGrain.MaxRuns, runs.Count - IEvaluationRunIndexGrain.MaxRuns);
        }

        await state.WriteStateAsync();
    }

    public async Task UpdateAsync(EvaluationRunSummary run)
    {
        var runs = state.State.Runs;
        var at = runs.FindIndex(r => r.Id == run.Id);
        if (at >= 0 && runs[at] != run)
        {
            runs[at] = run;
            await state.WriteStateAsync();
        }
    }

    private static bool IsRunning(EvaluationRunSummary run) => run.Status is EvaluationRunStatus.Running or EvaluationRunStatus.Pending;

    /// <summary>
    /// The tenant's running runs. At the limit, each is asked for its status, so an entry whose run ended without
    /// telling the index (its last update failed) does not hold a place forever.
    /// </summary>
    private async Task<int> CountRunningAsync()
    {
        var running = state.State.Runs.Where(IsRunning).ToList();
        if (running.Count < IEvaluationRunIndexGrain.MaxRunning)
        {
            return running.Count;
        }

        var tenant = this.GetPrimaryKeyString();
        var infos = await Task.WhenAll(running.Select(r => GrainFactory.GetGrain<IEvaluationRunGrain>(EvaluationKeys.Run(tenant, r.Id)).GetAsync()));
        var stale = false;
        for (var i = 0; i < running.Count; i++)
        {
            var status = infos[i]?.Status ?? EvaluationRunStatus.Failed;
            if (status != running[i].Status)
            {
                var at = state.State.Runs.FindIndex(r => r.Id == running[i].Id);
                state.State.Runs[at] = running[i] with { Status = status, CompletedItems = infos[i]?.CompletedItems ?? running[i].CompletedItems };
                stale = true;
            }
        }

        if (stale)
        {
            await state.WriteStateAsync();
        }

        return state.State.Runs.Count(IsRunning);
    }

    public Task<IReadOnlyList<EvaluationRunSummary>> ListAsync(string? dataset, int limit) =>
        Task.FromResult<IReadOnlyList<EvaluationRunSummary>>(
            [.. state.State.Runs.Where(r => dataset is null || r.Dataset == dataset).Take(limit)]);
}
