using Platform.Prompts;

namespace Platform.Evaluations;

/// <summary>One chat message of a dataset item: <c>system</c>, <c>user</c> or <c>assistant</c>.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.DatasetMessage")]
public sealed record DatasetMessage(
    [property: Id(0)] string Role,
    [property: Id(1)] string Content);

/// <summary>
/// One evaluation item: prompt template variables (<see cref="Input"/>) or a chat (<see cref="Messages"/>), or both;
/// optionally the expected output, reference context (for groundedness), tags and a split (e.g. <c>test</c>).
/// Items are immutable within a dataset version.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.DatasetItem")]
public sealed record DatasetItem(
    [property: Id(0)] string Id,
    [property: Id(1)] IReadOnlyDictionary<string, string>? Input,
    [property: Id(2)] IReadOnlyList<DatasetMessage>? Messages,
    [property: Id(3)] string? Expected,
    [property: Id(4)] string? Context,
    [property: Id(5)] IReadOnlyList<string> Tags,
    [property: Id(6)] string? Split);

/// <summary>
/// One committed dataset version. Its items are stored in <see cref="PageCount"/> pages, page <c>p</c> holding
/// <see cref="PageItemCounts"/>[p] items in import order (read them with <see cref="IDatasetGrain.ReadPageAsync"/>).
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.DatasetVersionInfo")]
public sealed record DatasetVersionInfo(
    [property: Id(0)] int Version,
    [property: Id(1)] int ItemCount,
    [property: Id(2)] int PageCount,
    [property: Id(3)] DateTime CreatedUtc,
    [property: Id(4)] string CreatedBy,
    [property: Id(5)] string Format,
    [property: Id(6)] int SkippedLines,
    [property: Id(7)] IReadOnlyList<int> PageItemCounts,
    [property: Id(8)] string ContentHash);

/// <summary>What an import hands to <see cref="IDatasetGrain.CommitVersionAsync"/> once every page is written.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.DatasetCommit")]
public sealed record DatasetCommit(
    [property: Id(0)] string Format,
    [property: Id(1)] int SkippedLines,
    [property: Id(2)] IReadOnlyList<int> PageItemCounts,
    [property: Id(3)] string ContentHash);

/// <summary>A dataset and its latest committed version, as the tenant's list shows it.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.DatasetSummary")]
public sealed record DatasetSummary(
    [property: Id(0)] string Name,
    [property: Id(1)] int VersionCount,
    [property: Id(2)] DatasetVersionInfo Latest);

/// <summary>Import formats, as stored in <see cref="DatasetVersionInfo.Format"/>.</summary>
public static class DatasetFormats
{
    public const string JsonLines = "jsonl";
    public const string Csv = "csv";
}

/// <summary>Dataset names and the grain keys derived from them, in one place.</summary>
public static class DatasetNames
{
    /// <summary>The same rule as prompt names: lowercase letters, digits, '-', '_' and '.', starting with a letter, 1-100 characters.</summary>
    public static bool IsValid(string? name) => PromptNames.IsValid(name);

    /// <summary>Key of <see cref="IDatasetGrain"/>: <c>{tenant}/{dataset}</c>.</summary>
    public static string Key(string tenantId, string dataset) => $"{tenantId}/{dataset}";

    /// <summary>Key of <see cref="IDatasetPageGrain"/>: <c>{tenant}/{dataset}/{version}/{page}</c>.</summary>
    public static string PageKey(string tenantId, string dataset, int version, int page) => $"{tenantId}/{dataset}/{version}/{page}";
}

/// <summary>Bounds of a dataset import; each one exceeded is a 400 naming it.</summary>
public static class DatasetLimits
{
    /// <summary>Items of one version.</summary>
    public const int MaxItems = 100_000;

    /// <summary>Bytes of one import's request body (64 MiB).</summary>
    public const long MaxBodyBytes = 64L * 1024 * 1024;

    /// <summary>Characters of an item id.</summary>
    public const int MaxIdLength = 128;

    /// <summary>Input variables of one item, and characters of a variable's name.</summary>
    public const int MaxInputVariables = 64;

    public const int MaxInputNameLength = 64;

    /// <summary>Characters of any text field (a variable's value, a message, expected, context).</summary>
    public const int MaxTextLength = 32_000;

    /// <summary>Messages of one item.</summary>
    public const int MaxMessages = 100;

    /// <summary>Tags of one item, and characters of a tag (also of a split).</summary>
    public const int MaxTags = 20;

    public const int MaxTagLength = 64;

    /// <summary>Nesting depth of a JSON line (an item is at most object / array / object deep).</summary>
    public const int MaxJsonDepth = 8;

    /// <summary>
    /// Estimated stored bytes of one item (<see cref="MaxTextLength"/> per field would otherwise let one item of
    /// 64 variables and 100 messages reach megabytes, more than a storage record holds).
    /// </summary>
    public const int MaxItemBytes = 256 * 1024;

    /// <summary>Items of one stored page.</summary>
    public const int PageItems = 500;

    /// <summary>
    /// Estimated stored bytes of one page: half of what one Azure Table entity holds (1 MB, of which the Orleans
    /// table provider uses 15 binary properties of 64 KiB), so a page fits whichever store the profile uses.
    /// </summary>
    public const int PageBytes = 512 * 1024;

    /// <summary>Versions of one dataset (its version list is one record).</summary>
    public const int MaxVersions = 500;

    /// <summary>Errors listed in a refusal (the rest are counted).</summary>
    public const int ListedErrors = 100;

    /// <summary>Roles a dataset message may have.</summary>
    public static readonly IReadOnlySet<string> Roles = new HashSet<string>(StringComparer.Ordinal) { "system", "user", "assistant" };
}
