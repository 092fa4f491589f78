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
        }

        return added;
    }

    public Task<IReadOnlyList<EvaluationItemResult>> GetAsync() => Task.FromResult<IReadOnlyList<EvaluationItemResult>>(state.State.Results);
}
