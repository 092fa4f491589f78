using Platform.Tenants;

namespace Platform.Evaluations;

/// <summary>
/// A dataset's version list. Key: <c>{tenant}/{dataset}</c>. An import reserves a version number
/// (<see cref="BeginVersionAsync"/>), writes the items to page grains, then makes the version visible in one write
/// (<see cref="CommitVersionAsync"/>): an import that stops half-way leaves no visible version, only an unused number.
/// </summary>
[Alias("Platform.Evaluations.IDatasetGrain")]
public interface IDatasetGrain : IGrainWithStringKey
{
    /// <summary>Reserves the next version number (numbers are never reused, so an abandoned import leaves a gap).</summary>
    [Alias("BeginVersionAsync")]
    Task<int> BeginVersionAsync(Actor actor);

    /// <summary>
    /// Makes a reserved version visible once every page holds the item count <paramref name="commit"/> says;
    /// a version is committed once (a second commit is a 409).
    /// </summary>
    [Alias("CommitVersionAsync")]
    Task<DatasetVersionInfo> CommitVersionAsync(int version, DatasetCommit commit, Actor actor);

    /// <summary>A committed version (0 = the latest), or null when it is missing or not committed.</summary>
    [Alias("GetVersionAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<DatasetVersionInfo?> GetVersionAsync(int version);

    /// <summary>Every committed version, oldest first (empty when the dataset has none).</summary>
    [Alias("ListVersionsAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<IReadOnlyList<DatasetVersionInfo>> ListVersionsAsync();

    /// <summary>The items of one page of a committed version (0 = the latest), in import order; 404 when either is missing.</summary>
    [Alias("ReadPageAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<IReadOnlyList<DatasetItem>> ReadPageAsync(int version, int page);
}

/// <summary>
/// One page of a dataset version's items (at most <see cref="DatasetLimits.PageItems"/> items and about
/// <see cref="DatasetLimits.PageBytes"/> bytes). Key: <c>{tenant}/{dataset}/{version}/{page}</c>.
/// Written once by an import; only <see cref="IDatasetGrain"/> serves it to readers, and only once committed.
/// </summary>
[Alias("Platform.Evaluations.IDatasetPageGrain")]
public interface IDatasetPageGrain : IGrainWithStringKey
{
    /// <summary>Stores the page's items; writing the same items again is harmless, other items are refused (409): items never change.</summary>
    [Alias("WriteAsync")]
    [Idempotent]
    Task WriteAsync(IReadOnlyList<DatasetItem> items);

    /// <summary>How many items the page holds (0 when never written).</summary>
    [Alias("CountAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<int> CountAsync();

    [Alias("ReadAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<IReadOnlyList<DatasetItem>> ReadAsync();
}

/// <summary>The names of a tenant's datasets. Key: tenant id.</summary>
[Alias("Platform.Evaluations.IDatasetIndexGrain")]
public interface IDatasetIndexGrain : IGrainWithStringKey
{
    [Alias("AddAsync")]
    [Idempotent]
    Task AddAsync(string dataset);

    [Alias("ListAsync")]
    [Idempotent]
    Task<IReadOnlyList<string>> ListAsync();
}
