namespace Platform.Prompts;

/// <summary>One chat message template (a Liquid template rendered with the request's variables).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Prompts.PromptMessage")]
public sealed record PromptMessage(
    [property: Id(0)] string Role,
    [property: Id(1)] string Template);

/// <summary>A declared variable: <c>string</c>, <c>number</c>, <c>integer</c>, <c>boolean</c>, <c>list</c> or <c>object</c>.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Prompts.PromptVariable")]
public sealed record PromptVariable(
    [property: Id(0)] string Name,
    [property: Id(1)] string Type,
    [property: Id(2)] bool Required,
    [property: Id(3)] string? DefaultJson = null,
    [property: Id(4)] string? Description = null);

/// <summary>Model parameters a version carries; a request's own values win.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Prompts.PromptParameters")]
public sealed record PromptParameters(
    [property: Id(0)] string? Model = null,
    [property: Id(1)] double? Temperature = null,
    [property: Id(2)] int? MaxTokens = null,
    [property: Id(3)] string? ResponseFormat = null,
    [property: Id(4)] string? ToolsJson = null);

/// <summary>What a version holds, and what its content hash covers.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Prompts.PromptContent")]
public sealed record PromptContent(
    [property: Id(0)] IReadOnlyList<PromptMessage> Messages,
    [property: Id(1)] IReadOnlyList<PromptVariable> Variables,
    [property: Id(2)] PromptParameters Parameters);

/// <summary>One immutable version of a prompt.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Prompts.PromptVersion")]
public sealed record PromptVersion(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string Prompt,
    [property: Id(2)] int Version,
    [property: Id(3)] PromptContent Content,
    [property: Id(4)] string CommitMessage,
    [property: Id(5)] string Author,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] string ContentHash);

[GenerateSerializer]
[Immutable]
[Alias("Platform.Prompts.PromptVersionSummary")]
public sealed record PromptVersionSummary(
    [property: Id(0)] int Version,
    [property: Id(1)] string ContentHash,
    [property: Id(2)] string CommitMessage,
    [property: Id(3)] string Author,
    [property: Id(4)] DateTimeOffset CreatedAt);

/// <summary>A label move: who moved which label from which version to which, and when.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Prompts.LabelMove")]
public sealed record LabelMove(
    [property: Id(0)] string Label,
    [property: Id(1)] int? From,
    [property: Id(2)] int To,
    [property: Id(3)] string By,
    [property: Id(4)] DateTimeOffset At,
    [property: Id(5)] bool Rollback);

/// <summary>A prompt's versions and labels; <see cref="LabelHistory"/> holds the newest moves only (every move: <see cref="IPromptGrain.GetLabelHistoryAsync"/>).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Prompts.PromptSummary")]
public sealed record PromptSummary(
    [property: Id(0)] string Name,
    [property: Id(1)] IReadOnlyList<PromptVersionSummary> Versions,
    [property: Id(2)] IReadOnlyDictionary<string, int> Labels,
    [property: Id(3)] IReadOnlyList<LabelMove> LabelHistory);

/// <summary>A page of label moves, oldest first; <see cref="NextAfter"/> is the cursor of the next page (null on the last).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Prompts.LabelHistoryPage")]
public sealed record LabelHistoryPage(
    [property: Id(0)] IReadOnlyList<LabelMove> Moves,
    [property: Id(1)] long? NextAfter,
    [property: Id(2)] long Total);

[GenerateSerializer]
[Immutable]
[Alias("Platform.Prompts.CreateVersionResult")]
public sealed record CreateVersionResult(
    [property: Id(0)] PromptVersion Version,
    [property: Id(1)] bool Created);

public static class PromptLabels
{
    public const string Production = "production";
    public const string Staging = "staging";

    /// <summary>Labels whose moves need the operator role (or owner/admin).</summary>
    public static readonly IReadOnlySet<string> Protected = new HashSet<string>(StringComparer.Ordinal) { Production };

    /// <summary>Lowercase letters, digits, '-', '_' and '.', 1-64 characters.</summary>
    public static bool IsValid(string? label) =>
        label is { Length: > 0 and <= 64 } && label.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' or '.');
}

public static class PromptNames
{
    /// <summary>Lowercase letters, digits, '-', '_' and '.', starting with a letter, 1-100 characters.</summary>
    public static bool IsValid(string? name) =>
        name is { Length: > 0 and <= 100 } && char.IsAsciiLetterLower(name[0])
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' or '.');

    public static string Key(string tenantId, string prompt) => $"{tenantId}/{prompt}";

    public static string VersionKey(string tenantId, string prompt, int version) => $"{tenantId}/{prompt}/{version}";
}
