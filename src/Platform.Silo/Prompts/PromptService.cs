using System.Collections.Concurrent;
using System.Text.Json;
using Platform.Prompts;
using Platform.Tenants;

namespace Platform.Silo.Prompts;

/// <summary>A prompt reference in a chat request: <c>{"name", "version" | "label", "variables"}</c>.</summary>
public sealed record PromptReference(string Name, int? Version, string? Label, IReadOnlyDictionary<string, JsonElement>? Variables);

public sealed record RenderedPrompt(PromptVersion Version, RenderedMessage[] Messages);

public sealed record PlanEntry(string Prompt, string File, string Action, int? CurrentVersion, int? NewVersion, string? Diff);

/// <summary>
/// Prompt use on the request path and prompts as code. Versions are immutable, so each is compiled once per
/// silo and cached; a label is resolved by one call to the prompt grain, so a label move (or rollback) is seen
/// by the next request on every silo.
/// </summary>
public sealed class PromptService(IGrainFactory grains)
{
    private const int CacheCapacity = 10_000;
    private readonly ConcurrentDictionary<string, CompiledPrompt> _compiled = new(StringComparer.Ordinal);

    public async Task<RenderedPrompt> RenderAsync(string tenant, PromptReference reference)
    {
        if (!PromptNames.IsValid(reference.Name))
        {
            throw PlatformException.NotFound($"Prompt '{reference.Name}'");
        }

        if (reference.Version is not null && reference.Label is not null)
        {
            throw new PlatformException(ErrorKind.Invalid, "Name a version or a label, not both.", "prompt.label");
        }

        var number = await grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, reference.Name)).ResolveAsync(reference.Version, reference.Label);
        var compiled = await GetCompiledAsync(tenant, reference.Name, number);
        return new RenderedPrompt(compiled.Version, PromptTemplates.Render(compiled, reference.Variables));
    }

    public async Task<CompiledPrompt> GetCompiledAsync(string tenant, string prompt, int version)
    {
        var key = PromptNames.VersionKey(tenant, prompt, version);
        if (_compiled.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var stored = await grains.GetGrain<IPromptVersionGrain>(key).GetAsync()
            ?? throw PlatformException.NotFound($"Version {version} of prompt '{prompt}'");
        var compiled = PromptTemplates.Compile(stored);
        if (_compiled.Count >= CacheCapacity)
        {
            _compiled.Clear();
        }

        _compiled[key] = compiled;
        return compiled;
    }

    public async Task<PromptVersion> GetVersionAsync(string tenant, string prompt, int version) =>
        (await GetCompiledAsync(tenant, prompt, version)).Version;

    /// <summary>What an apply would do: which prompts get a new version (with the diff against their latest).</summary>
    public async Task<IReadOnlyList<PlanEntry>> PlanAsync(string tenant, IReadOnlyList<PromptFile> files)
    {
        var plan = new List<PlanEntry>(files.Count);
        foreach (var file in files)
        {
            var summary = await grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, file.Name)).GetAsync();
            var latest = summary?.Versions[^1];
            if (latest?.ContentHash == PromptHashing.Hash(file.Content))
            {
                plan.Add(new PlanEntry(file.Name, file.Path, "unchanged", latest.Version, null, null));
                continue;
            }

            var before = latest is null ? null : (await GetVersionAsync(tenant, file.Name, latest.Version)).Content;
            var diff = PromptDiff.Compare(file.Name, latest?.Version ?? 0, before, (latest?.Version ?? 0) + 1, file.Content);
            plan.Add(new PlanEntry(file.Name, file.Path, "create", latest?.Version, (latest?.Version ?? 0) + 1, PromptDiff.Unified(diff)));
        }

        return plan;
    }

    /// <summary>Creates exactly the planned versions, then (optionally) points a label at each prompt's latest version.</summary>
    public async Task<(IReadOnlyList<PlanEntry> Applied, IReadOnlyList<LabelMove> Moves)> ApplyAsync(
        string tenant, IReadOnlyList<PromptFile> files, string? label, Actor actor)
    {
        var plan = await PlanAsync(tenant, files);
        var applied = new List<PlanEntry>(plan.Count);
        var moves = new List<LabelMove>();
        for (var i = 0; i < files.Count; i++)
        {
            var grain = grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, files[i].Name));
            var latest = plan[i].CurrentVersion;
            if (plan[i].Action == "create")
            {
                var result = await grain.CreateVersionAsync(files[i].Content, files[i].CommitMessage, actor);
                latest = result.Version.Version;
                applied.Add(plan[i] with { NewVersion = latest });
            }
            else
            {
                applied.Add(plan[i]);
            }

            if (label is not null && latest is { } target)
            {
                var summary = await grain.GetAsync();
                var exists = summary is not null && summary.Labels.ContainsKey(label);
                var current = exists ? summary!.Labels[label] : (int?)null;
                if (current != target)
                {
                    // Compare-and-set against what was just read: a concurrent move makes this apply fail (409).
                    moves.Add(await grain.MoveLabelAsync(label, target, expectedFrom: current, expectNew: !exists, actor));
                }
            }
        }

        return (applied, moves);
    }
}
