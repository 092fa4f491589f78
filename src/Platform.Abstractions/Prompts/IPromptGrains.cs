using Platform.Tenants;

namespace Platform.Prompts;

/// <summary>A prompt's version list and labels. Key: <c>{tenant}/{prompt}</c>.</summary>
[Alias("Platform.Prompts.IPromptGrain")]
public interface IPromptGrain : IGrainWithStringKey
{
    /// <summary>Creates the next version, or returns the latest when its content is identical.</summary>
    [Alias("CreateVersionAsync")]
    Task<CreateVersionResult> CreateVersionAsync(PromptContent content, string commitMessage, Actor actor);

    /// <summary>The prompt, or null when it has no version.</summary>
    [Alias("GetAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<PromptSummary?> GetAsync();

    /// <summary>The version number a version or label selects (latest when neither is given).</summary>
    [Alias("ResolveAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<int> ResolveAsync(int? version, string? label);

    /// <summary>Moves a label atomically; <paramref name="expectedFrom"/> (when given) must be its current target, else 409.</summary>
    [Alias("MoveLabelAsync")]
    Task<LabelMove> MoveLabelAsync(string label, int toVersion, int? expectedFrom, bool expectNew, Actor actor);

    /// <summary>Moves a label back to the version it pointed at before its last move; <paramref name="expectedCurrent"/> (when given) must be its target now, else 409.</summary>
    [Alias("RollbackLabelAsync")]
    Task<LabelMove> RollbackLabelAsync(string label, int? expectedCurrent, Actor actor);

    /// <summary>Label moves <paramref name="after"/> + 1 .. <paramref name="after"/> + <paramref name="limit"/>, oldest first.</summary>
    [Alias("GetLabelHistoryAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<LabelHistoryPage> GetLabelHistoryAsync(long after, int limit);
}

/// <summary>One immutable version. Key: <c>{tenant}/{prompt}/{version}</c>.</summary>
[Alias("Platform.Prompts.IPromptVersionGrain")]
public interface IPromptVersionGrain : IGrainWithStringKey
{
    /// <summary>Stores the version once; a second call with other content is refused.</summary>
    [Alias("InitializeAsync")]
    Task InitializeAsync(PromptVersion version);

    [Alias("GetAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<PromptVersion?> GetAsync();
}

/// <summary>The names of a tenant's prompts. Key: tenant id.</summary>
[Alias("Platform.Prompts.IPromptIndexGrain")]
public interface IPromptIndexGrain : IGrainWithStringKey
{
    [Alias("AddAsync")]
    [Idempotent]
    Task AddAsync(string prompt);

    [Alias("ListAsync")]
    [Idempotent]
    Task<IReadOnlyList<string>> ListAsync();
}
