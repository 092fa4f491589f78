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

    public Task<IReadOnlyList<EvaluationRunSummary>> ListAsync(string? dataset, int limit) =>
        Task.FromResult<IReadOnlyList<EvaluationRunSummary>>(
            [.. state.State.Runs.Where(r => dataset is null || r.Dataset == dataset).Take(limit)]);
}
