using Platform.Tenants;

namespace Platform.Evaluations;

/// <summary>
/// One evaluation run: a dataset version against one release, item by item with bounded concurrency. Key:
/// <c>{tenant}/{run}</c>. The run's progress is persisted as it goes; a run whose silo died resumes where it stopped on
/// whichever silo activates it next (its reminder does that within a minute, any call at once), and an item whose result
/// was stored is never called again.
/// </summary>
[Alias("Platform.Evaluations.IEvaluationRunGrain")]
public interface IEvaluationRunGrain : IGrainWithStringKey
{
    /// <summary>Creates and starts the run; everything it needs has been checked by the caller (<c>EvaluationRunner.PrepareAsync</c>).</summary>
    [Alias("StartAsync")]
    Task<EvaluationRunInfo> StartAsync(EvaluationRunSpec spec, Deployments.Release release, int totalItems, Actor actor);

    /// <summary>The run, or null when it does not exist.</summary>
    [Alias("GetAsync")]
    Task<EvaluationRunInfo?> GetAsync();

    /// <summary>Stops a pending or running run; items in flight finish and are kept. A finished run is returned unchanged.</summary>
    [Alias("CancelAsync")]
    Task<EvaluationRunInfo?> CancelAsync(Actor actor, string? reason = null);

    /// <summary>Results of the items <paramref name="offset"/> .. <paramref name="offset"/> + <paramref name="limit"/> - 1 stored so far, in dataset order.</summary>
    [Alias("GetResultsAsync")]
    Task<EvaluationResultPage> GetResultsAsync(int offset, int limit);
}

/// <summary>
/// The stored results of one page of a run (<see cref="PageSize"/> consecutive dataset items), so a 100,000-item run is
/// many small records, never one. Key: <c>{tenant}/{run}/{page}</c>. Adding a result for an item already stored keeps the
/// first: an item is scored once.
/// </summary>
[Alias("Platform.Evaluations.IEvaluationResultPageGrain")]
public interface IEvaluationResultPageGrain : IGrainWithStringKey
{
    public const int PageSize = 50;

    /// <summary>Stores the results not stored yet; returns how many were new.</summary>
    [Alias("AddAsync")]
    Task<int> AddAsync(IReadOnlyList<EvaluationItemResult> results);

    [Alias("GetAsync")]
    Task<IReadOnlyList<EvaluationItemResult>> GetAsync();
}

/// <summary>A tenant's runs, newest first (the most recent <see cref="MaxRuns"/>). Key: <c>{tenant}</c>.</summary>
[Alias("Platform.Evaluations.IEvaluationRunIndexGrain")]
public interface IEvaluationRunIndexGrain : IGrainWithStringKey
{
    public const int MaxRuns = 1_000;

    /// <summary>Runs of one tenant running at once: each may have 64 items in flight, so this bounds what one tenant asks of the silos.</summary>
    public const int MaxRunning = 10;

    /// <summary>Adds a run; a running one is refused (429, nothing added) while the tenant has <see cref="MaxRunning"/> running.</summary>
    [Alias("AddAsync")]
    Task AddAsync(EvaluationRunSummary run);

    [Alias("UpdateAsync")]
    Task UpdateAsync(EvaluationRunSummary run);

    [Alias("ListAsync")]
    Task<IReadOnlyList<EvaluationRunSummary>> ListAsync(string? dataset, int limit);
}

[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.EvaluationRunSummary")]
public sealed record EvaluationRunSummary(
    [property: Id(0)] string Id,
    [property: Id(1)] string Dataset,
    [property: Id(2)] int DatasetVersion,
    [property: Id(3)] string Release,
    [property: Id(4)] EvaluationRunStatus Status,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] int TotalItems,
    [property: Id(7)] int CompletedItems,
    [property: Id(8)] string? Name);

public static class EvaluationKeys
{
    public static string Run(string tenant, string run) => $"{tenant}/{run}";

    public static string ResultPage(string tenant, string run, int page) => $"{tenant}/{run}/{page}";

    /// <summary>A new run id: time-ordered, URL-safe.</summary>
    public static string NewRunId() => "run_" + Guid.CreateVersion7().ToString("N");
}
