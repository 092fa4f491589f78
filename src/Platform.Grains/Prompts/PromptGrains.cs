using Microsoft.Extensions.Logging;
using Platform.Hosting;
using Platform.Segments;
using Platform.Tenants;

namespace Platform.Prompts;

[GenerateSerializer]
[Alias("Platform.Prompts.PromptGrainState")]
public sealed class PromptGrainState
{
    [Id(0)]
    public List<PromptVersionSummary> Versions { get; set; } = [];

    [Id(1)]
    public Dictionary<string, int> Labels { get; set; } = [];

    /// <summary>The newest label moves (older ones are sealed in segments; before segments existed: every move).</summary>
    [Id(2)]
    public List<LabelMove> LabelHistory { get; set; } = [];

    [Id(3)]
    public int LabelHistorySegments { get; set; }

    /// <summary>The last move of each label (what a rollback undoes), whichever segment it is in.</summary>
    [Id(4)]
    public Dictionary<string, LabelMove> LastMoves { get; set; } = [];

    /// <summary>Audit records of saved changes not yet in the tenant's log (see <see cref="AuditOutbox"/>).</summary>
    [Id(5)]
    public List<AuditRecord> PendingAudit { get; set; } = [];
}

[GenerateSerializer]
[Alias("Platform.Prompts.PromptVersionGrainState")]
public sealed class PromptVersionGrainState
{
    [Id(0)]
    public PromptVersion? Version { get; set; }
}

[GenerateSerializer]
[Alias("Platform.Prompts.PromptIndexState")]
public sealed class PromptIndexState
{
    [Id(0)]
    public SortedSet<string> Prompts { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Single writer of a prompt's version list and labels. Versions are numbered 1, 2, 3...; identical content
/// returns the latest version; a label move is one write (compare-and-set when the caller says what it expects).
/// There is no way to edit or delete a version, so nothing a label or deployment references can disappear.
/// </summary>
public sealed class PromptGrain(
    [PersistentState("prompt", PlatformStorage.Default)] IPersistentState<PromptGrainState> state,
    TimeProvider time,
    ILogger<PromptGrain> logger) : Grain, IPromptGrain
{
    /// <summary>Characters of a commit message kept in the version list.</summary>
    public const int SummaryMessageLength = 200;

    private AuditOutbox? _audit;

    private (string Tenant, string Prompt) Key => TenantIds.Split(this.GetPrimaryKeyString());

    private string HistoryKey => "labels/" + this.GetPrimaryKeyString();

    private AuditOutbox Audit => _audit ??= new AuditOutbox(this, GrainFactory, () => Key.Tenant, () => state.State.PendingAudit, () => state.WriteStateAsync(), time, logger);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var s = state.State;
        if (s.LastMoves.Count == 0 && s.LabelHistory.Count > 0)
        {
            // Stored before segments: every move is still in the list, so the last move of each label can be found there.
            foreach (var move in s.LabelHistory)
            {
                s.LastMoves[move.Label] = move;
            }

            s.LabelHistorySegments += await SegmentedList.MigrateAsync(GrainFactory, HistoryKey, s.LabelHistorySegments, s.LabelHistory);
            await state.WriteStateAsync(cancellationToken);
        }

        Audit.ResumeIfPending();
    }

    public async Task<CreateVersionResult> CreateVersionAsync(PromptContent content, string commitMessage, Actor actor)
    {
        var (tenant, prompt) = Key;
        if (!PromptNames.IsValid(prompt))
        {
            throw new PlatformException(ErrorKind.Invalid, "Prompt names are 1-100 lowercase letters, digits, '-', '_' or '.', starting with a letter.", "name");
        }

        ValidateText(content, commitMessage);
        PromptTemplates.Validate(content);
        var hash = PromptHashing.Hash(content);
        if (state.State.Versions.Count > 0 && state.State.Versions[^1].ContentHash == hash)
        {
            var latest = await VersionGrain(state.State.Versions[^1].Version).GetAsync();
            return new CreateVersionResult(latest!, Created: false);
        }

        var number = state.State.Versions.Count + 1;
        if (number == 1)
        {
            // Idempotent, and before any write, so a prompt can never exist unlisted.
            await GrainFactory.GetGrain<IPromptIndexGrain>(tenant).AddAsync(prompt);
        }

        var version = new PromptVersion(tenant, prompt, number, content, commitMessage ?? "", actor.KeyId, time.GetUtcNow(), hash);

        // The immutable content first: if the list write below fails, the orphan version is never listed
        // and the next attempt re-initialises it with the same number.
        await VersionGrain(number).InitializeAsync(version);
        // The list holds every version, so each summary keeps only the start of its message (the version keeps all of it).
        state.State.Versions.Add(new PromptVersionSummary(
            number, hash, TextLimits.Truncate(version.CommitMessage, SummaryMessageLength)!, version.Author, version.CreatedAt));
        var record = Audit.Add(actor, "prompt.version.create", $"prompt/{prompt}@{number}", null, $"hash={hash}; message={version.CommitMessage}");
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Versions.RemoveAt(state.State.Versions.Count - 1);
            Audit.Remove(record);
            throw;
        }

        await Audit.DeliverAsync();
        return new CreateVersionResult(version, Created: true);
    }

    public Task<PromptSummary?> GetAsync() => Task.FromResult(state.State.Versions.Count == 0
        ? null
        : new PromptSummary(Key.Prompt, [.. state.State.Versions], new Dictionary<string, int>(state.State.Labels), [.. state.State.LabelHistory]));

    public Task<int> ResolveAsync(int? version, string? label)
    {
        if (state.State.Versions.Count == 0)
        {
            throw PlatformException.NotFound($"Prompt '{Key.Prompt}'");
        }

        if (label is not null)
        {
            return state.State.Labels.TryGetValue(label, out var target)
                ? Task.FromResult(target)
                : throw PlatformException.NotFound($"Label '{label}' of prompt '{Key.Prompt}'");
        }

        if (version is { } v)
        {
            return v >= 1 && v <= state.State.Versions.Count
                ? Task.FromResult(v)
                : throw PlatformException.NotFound($"Version {v} of prompt '{Key.Prompt}'");
        }

        return Task.FromResult(state.State.Versions.Count);
    }

    public async Task<LabelMove> MoveLabelAsync(string label, int toVersion, int? expectedFrom, bool expectNew, Actor actor)
    {
        RequireMayMove(label, actor);
        if (toVersion < 1 || toVersion > state.State.Versions.Count)
        {
            throw PlatformException.NotFound($"Version {toVersion} of prompt '{Key.Prompt}'");
        }

        int? current = state.State.Labels.TryGetValue(label, out var c) ? c : null;
        if ((expectNew && current is not null) || (expectedFrom is not null && current != expectedFrom))
        {
            throw new PlatformException(
                ErrorKind.Conflict,
                $"Label '{label}' points at {(current is null ? "nothing" : $"version {current}")}, not {(expectNew ? "nothing" : $"version {expectedFrom}")}; it was moved by someone else.",
                "expectedFrom");
        }

        return await ApplyMoveAsync(new LabelMove(label, current, toVersion, actor.KeyId, time.GetUtcNow(), Rollback: false), actor);
    }

    public async Task<LabelMove> RollbackLabelAsync(string label, int? expectedCurrent, Actor actor)
    {
        RequireMayMove(label, actor);
        if (!state.State.Labels.TryGetValue(label, out var current))
        {
            throw PlatformException.NotFound($"Label '{label}' of prompt '{Key.Prompt}'");
        }

        if (expectedCurrent is { } expected && expected != current)
        {
            throw new PlatformException(ErrorKind.Conflict, $"Label '{label}' points at version {current}, not {expected}; it was moved by someone else.", "expectedCurrent");
        }

        var last = state.State.LastMoves.GetValueOrDefault(label);
        if (last?.From is not { } previous)
        {
            throw new PlatformException(ErrorKind.Conflict, $"Label '{label}' has no previous target to roll back to.");
        }

        return await ApplyMoveAsync(new LabelMove(label, current, previous, actor.KeyId, time.GetUtcNow(), Rollback: true), actor);
    }

    private async Task<LabelMove> ApplyMoveAsync(LabelMove move, Actor actor)
    {
        var s = state.State;
        var (labels, history, sealedSegments, lastMoves) = (new Dictionary<string, int>(s.Labels), s.LabelHistory, s.LabelHistorySegments, new Dictionary<string, LabelMove>(s.LastMoves));
        if (await SegmentedList.SealIfFullAsync(GrainFactory, HistoryKey, s.LabelHistorySegments, s.LabelHistory))
        {
            s.LabelHistory = [];
            s.LabelHistorySegments++;
        }

        s.Labels[move.Label] = move.To;
        s.LabelHistory.Add(move);
        s.LastMoves[move.Label] = move;
        var record = Audit.Add(
            actor,
            move.Rollback ? "prompt.label.rollback" : "prompt.label.move",
            $"prompt/{Key.Prompt}#{move.Label}",
            move.From is null ? null : $"version={move.From}",
            $"version={move.To}");
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            history.Remove(move);
            (s.Labels, s.LabelHistory, s.LabelHistorySegments, s.LastMoves) = (labels, history, sealedSegments, lastMoves);
            Audit.Remove(record);
            throw;
        }

        await Audit.DeliverAsync();
        return move;
    }

    public async Task<LabelHistoryPage> GetLabelHistoryAsync(long after, int limit)
    {
        var (moves, next) = await SegmentedList.PageAsync(GrainFactory, HistoryKey, state.State.LabelHistorySegments, state.State.LabelHistory, after, limit);
        return new LabelHistoryPage(moves, next, SegmentedList.Count(state.State.LabelHistorySegments, state.State.LabelHistory));
    }

    /// <summary>Bounds every free-text field of a version (templates are bounded by <see cref="PromptTemplates.Validate"/>).</summary>
    public static void ValidateText(PromptContent content, string? commitMessage)
    {
        TextLimits.Require(commitMessage, TextLimits.CommitMessage, "message");
        TextLimits.RequireCount(content.Messages, TextLimits.ListItems, "messages");
        TextLimits.RequireCount(content.Variables, TextLimits.ListItems, "variables");
        for (var i = 0; i < content.Messages.Count; i++)
        {
            TextLimits.Require(content.Messages[i].Role, TextLimits.Token, $"messages[{i}].role");
        }

        for (var i = 0; i < content.Variables.Count; i++)
        {
            var v = content.Variables[i];
            TextLimits.Require(v.Name, TextLimits.Name, $"variables[{i}].name");
            TextLimits.Require(v.Type, TextLimits.Token, $"variables[{i}].type");
            TextLimits.Require(v.Description, TextLimits.Description, $"variables[{i}].description");
            TextLimits.Require(v.DefaultJson, TextLimits.Json, $"variables[{i}].default");
        }

        TextLimits.Require(content.Parameters.Model, TextLimits.Name, "parameters.model");
        TextLimits.Require(content.Parameters.ResponseFormat, TextLimits.Json, "parameters.responseFormat");
        TextLimits.Require(content.Parameters.ToolsJson, TextLimits.Json, "parameters.tools");
    }

    public static void RequireMayMove(string label, Actor actor)
    {
        if (!PromptLabels.IsValid(label))
        {
            throw new PlatformException(ErrorKind.Invalid, "Labels are 1-64 lowercase letters, digits, '-', '_' or '.'.", "label");
        }

        if (PromptLabels.Protected.Contains(label) && actor.Role is not (Role.Operator or Role.Owner or Role.Admin))
        {
            throw new PlatformException(ErrorKind.Forbidden, $"Moving the protected label '{label}' needs the operator role.", "label");
        }
    }

    private IPromptVersionGrain VersionGrain(int number) =>
        GrainFactory.GetGrain<IPromptVersionGrain>(PromptNames.VersionKey(Key.Tenant, Key.Prompt, number));

}

public sealed class PromptVersionGrain(
    [PersistentState("promptversion", PlatformStorage.Default)] IPersistentState<PromptVersionGrainState> state) : Grain, IPromptVersionGrain
{
    public async Task InitializeAsync(PromptVersion version)
    {
        if (state.State.Version is { } existing)
        {
            if (existing.ContentHash == version.ContentHash)
            {
                return;
            }

            // An orphan left by a failed list write: nothing references it, so the number is reused.
        }

        var previous = state.State.Version;
        state.State.Version = version;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Version = previous;
            throw;
        }
    }

    public Task<PromptVersion?> GetAsync() => Task.FromResult(state.State.Version);
}

public sealed class PromptIndexGrain(
    [PersistentState("promptindex", PlatformStorage.Default)] IPersistentState<PromptIndexState> state) : Grain, IPromptIndexGrain
{
    public async Task AddAsync(string prompt)
    {
        if (state.State.Prompts.Add(prompt))
        {
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State.Prompts.Remove(prompt);
                throw;
            }
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Prompts]);
}
