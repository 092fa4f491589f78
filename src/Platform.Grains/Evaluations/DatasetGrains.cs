using Platform.Evaluations.Datasets;
using Platform.Hosting;
using Platform.Tenants;

namespace Platform.Evaluations;

[GenerateSerializer]
[Alias("Platform.Evaluations.DatasetGrainState")]
public sealed class DatasetGrainState
{
    /// <summary>The highest version number handed out by <see cref="IDatasetGrain.BeginVersionAsync"/>.</summary>
    [Id(0)]
    public int Reserved { get; set; }

    /// <summary>Committed versions, by ascending number.</summary>
    [Id(1)]
    public List<DatasetVersionInfo> Versions { get; set; } = [];
}

[GenerateSerializer]
[Alias("Platform.Evaluations.DatasetPageGrainState")]
public sealed class DatasetPageGrainState
{
    [Id(0)]
    public List<DatasetItem>? Items { get; set; }
}

[GenerateSerializer]
[Alias("Platform.Evaluations.DatasetIndexState")]
public sealed class DatasetIndexState
{
    [Id(0)]
    public SortedSet<string> Datasets { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Single writer of a dataset's version list. A version is visible only once committed, and a commit checks that
/// every page it names holds the items it says, so no reader ever sees a version whose items are partly missing.
/// Committed versions are never changed or removed.
/// </summary>
public sealed class DatasetGrain(
    [PersistentState("dataset", PlatformStorage.Default)] IPersistentState<DatasetGrainState> state,
    TimeProvider time) : Grain, IDatasetGrain
{
    private (string Tenant, string Dataset) Key => TenantIds.Split(this.GetPrimaryKeyString());

    public async Task<int> BeginVersionAsync(Actor actor)
    {
        var (tenant, dataset) = Key;
        if (!DatasetNames.IsValid(dataset))
        {
            throw new PlatformException(ErrorKind.Invalid, "Dataset names are 1-100 lowercase letters, digits, '-', '_' or '.', starting with a letter.", "name");
        }

        if (state.State.Versions.Count >= DatasetLimits.MaxVersions)
        {
            throw new PlatformException(
                ErrorKind.Conflict, $"Dataset '{dataset}' has {DatasetLimits.MaxVersions} versions, the limit; import into a new dataset.", "name", "too_many_versions");
        }

        if (state.State.Reserved == 0)
        {
            // Idempotent, and before any write, so a dataset can never exist unlisted.
            await GrainFactory.GetGrain<IDatasetIndexGrain>(tenant).AddAsync(dataset);
        }

        state.State.Reserved++;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Reserved--;
            throw;
        }

        return state.State.Reserved;
    }

    public async Task<DatasetVersionInfo> CommitVersionAsync(int version, DatasetCommit commit, Actor actor)
    {
        var (tenant, dataset) = Key;
        if (version < 1 || version > state.State.Reserved)
        {
            throw PlatformException.NotFound($"Import of version {version} of dataset '{dataset}'");
        }

        if (Find(version) is not null)
        {
            throw new PlatformException(ErrorKind.Conflict, $"Version {version} of dataset '{dataset}' is already committed; its items never change.", "version");
        }

        var counts = commit.PageItemCounts;
        if (counts.Count == 0 || counts.Any(c => c is < 1 or > DatasetLimits.PageItems) || counts.Sum() > DatasetLimits.MaxItems)
        {
            throw new PlatformException(ErrorKind.Invalid, $"A version has 1-{DatasetLimits.MaxItems} items in pages of 1-{DatasetLimits.PageItems}.", "pages");
        }

        var stored = await Task.WhenAll(counts.Select((_, page) =>
            GrainFactory.GetGrain<IDatasetPageGrain>(DatasetNames.PageKey(tenant, dataset, version, page)).CountAsync()));
        var missing = stored.Select((count, page) => (count, page)).FirstOrDefault(p => p.count != counts[p.page]);
        if (missing != default)
        {
            throw new PlatformException(
                ErrorKind.Conflict,
                $"Page {missing.page} of version {version} holds {missing.count} items, not {counts[missing.page]}; the import is incomplete and was not committed.",
                "pages");
        }

        var info = new DatasetVersionInfo(
            version, counts.Sum(), counts.Count, time.GetUtcNow().UtcDateTime, actor.KeyId, commit.Format, commit.SkippedLines, [.. counts], commit.ContentHash);
        var at = state.State.Versions.FindIndex(v => v.Version > version);
        at = at < 0 ? state.State.Versions.Count : at;
        state.State.Versions.Insert(at, info);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Versions.RemoveAt(at);
            throw;
        }

        return info;
    }

    public Task<DatasetVersionInfo?> GetVersionAsync(int version) => Task.FromResult(Find(version));

    public Task<IReadOnlyList<DatasetVersionInfo>> ListVersionsAsync() =>
        Task.FromResult<IReadOnlyList<DatasetVersionInfo>>([.. state.State.Versions]);

    public async Task<IReadOnlyList<DatasetItem>> ReadPageAsync(int version, int page)
    {
        var (tenant, dataset) = Key;
        var info = Find(version) ?? throw PlatformException.NotFound($"Version {version} of dataset '{dataset}'");
        if (page < 0 || page >= info.PageCount)
        {
            throw PlatformException.NotFound($"Page {page} of version {info.Version} of dataset '{dataset}'");
        }

        return await GrainFactory.GetGrain<IDatasetPageGrain>(DatasetNames.PageKey(tenant, dataset, info.Version, page)).ReadAsync();
    }

    private DatasetVersionInfo? Find(int version) => version == 0
        ? state.State.Versions.LastOrDefault()
        : state.State.Versions.Find(v => v.Version == version);
}

/// <summary>
/// One page of a version's items, written once. A page leaves memory right after its write and its commit check (an
/// import of 100,000 items must not hold 200 pages for the default 15 minutes), and two idle minutes after a read.
/// </summary>
[CollectionAgeLimit(Minutes = 2)]
public sealed class DatasetPageGrain(
    [PersistentState("datasetpage", PlatformStorage.Default)] IPersistentState<DatasetPageGrainState> state) : Grain, IDatasetPageGrain
{
    public async Task WriteAsync(IReadOnlyList<DatasetItem> items)
    {
        if (state.State.Items is { } existing)
        {
            // A retried write of the same page is harmless; anything else would change a version's items.
            if (!DatasetPaging.SameItems(existing, items))
            {
                throw new PlatformException(ErrorKind.Conflict, "This dataset page is already written; items never change.", "items");
            }

            return;
        }

        var bytes = items.Sum(DatasetPaging.EstimateBytes);
        if (items.Count is 0 or > DatasetLimits.PageItems || bytes > DatasetLimits.PageBytes)
        {
            throw new PlatformException(
                ErrorKind.Invalid, $"A page holds 1-{DatasetLimits.PageItems} items of at most {DatasetLimits.PageBytes} bytes; this one has {items.Count} of {bytes}.", "items");
        }

        state.State.Items = [.. items];
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Items = null;
            throw;
        }

        DeactivateOnIdle();
    }

    public Task<int> CountAsync()
    {
        // Asked once, by the commit: the page is not read again until a run or a reader wants its items.
        DeactivateOnIdle();
        return Task.FromResult(state.State.Items?.Count ?? 0);
    }

    public Task<IReadOnlyList<DatasetItem>> ReadAsync() => Task.FromResult<IReadOnlyList<DatasetItem>>(state.State.Items ?? []);
}

public sealed class DatasetIndexGrain(
    [PersistentState("datasetindex", PlatformStorage.Default)] IPersistentState<DatasetIndexState> state) : Grain, IDatasetIndexGrain
{
    public async Task AddAsync(string dataset)
    {
        if (state.State.Datasets.Add(dataset))
        {
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State.Datasets.Remove(dataset);
                throw;
            }
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Datasets]);
}
