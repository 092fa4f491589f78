using Platform.Hosting;

namespace Platform.Evaluations;

[GenerateSerializer]
[Alias("Platform.Evaluations.EvaluationResultPageState")]
public sealed class EvaluationResultPageState
{
    [Id(0)]
    public List<EvaluationItemResult> Results { get; set; } = [];
}

/// <summary>One page of a run's results; the first result stored for an item is kept.</summary>
/// <remarks>
/// A run writes each page once or a few times and then never again, so a page holds its results in memory no longer than
/// it must: a full page leaves memory as soon as it is stored, and one read back (results, export, comparison, a resumed
/// run) is collected after two idle minutes rather than the silo's default. Without this a 100,000-item run keeps its
/// 2,000 pages (about 2 KB a result) in memory for the default collection age, and the silo grows with every item.
/// </remarks>
[CollectionAgeLimit(Minutes = 2)]
public sealed class EvaluationResultPageGrain(
    [PersistentState("evaluation-results", PlatformStorage.Default)] IPersistentState<EvaluationResultPageState> state)
    : Grain, IEvaluationResultPageGrain
{
    public async Task<int> AddAsync(IReadOnlyList<EvaluationItemResult> results)
    {
        var stored = state.State.Results;
        var added = 0;
        foreach (var result in results)
        {
            if (!stored.Exists(r => r.Index == result.Index))
            {
                stored.Add(result);
                added++;
            }
        }

        if (added > 0)
        {
            stored.Sort((a, b) => a.Index.CompareTo(b.Index));
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                // Not stored: the caller keeps the results and tries again; memory must not claim them.
                await state.ReadStateAsync();
                throw;
            }

            if (stored.Count >= IEvaluationResultPageGrain.PageSize)
            {
                // Complete: nothing more is added to it, and reads are served from storage.
                DeactivateOnIdle();
            }
        }

        return added;
    }

    public Task<IReadOnlyList<EvaluationItemResult>> GetAsync() => Task.FromResult<IReadOnlyList<EvaluationItemResult>>(state.State.Results);
}
