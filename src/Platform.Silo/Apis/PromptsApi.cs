using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Prompts;
using Platform.Silo.Auth;
using Platform.Silo.Http;
using Platform.Silo.Prompts;
using Platform.Tenants;

namespace Platform.Silo.Apis;

/// <summary>The prompt registry of the caller's tenant: <c>/api/v1/prompts</c>.</summary>
public static class PromptsApi
{
    private static readonly Role[] Readers = [Role.Owner, Role.Operator, Role.Developer, Role.Viewer];
    private static readonly Role[] Authors = [Role.Owner, Role.Developer];
    private static readonly Role[] LabelMovers = [Role.Owner, Role.Operator, Role.Developer];

    public static RouteGroupBuilder MapPromptsApi(this IEndpointRouteBuilder app)
    {
        var prompts = app.MapGroup("/api/v1/prompts").WithTags("Prompts").RequireAuthorization();
        prompts.MapGet("/", List).RequireRoles(Readers).WithSummary("List the tenant's prompts, with paging.");
        prompts.MapPost("/plan", Plan).RequireRoles(Authors).WithSummary("Prompts as code: which YAML files would create a version, with diffs.");
        prompts.MapPost("/apply", Apply).RequireRoles(Authors).WithIdempotency()
            .WithSummary("Prompts as code: create exactly the planned versions and optionally move a label (moving 'production' needs operator or owner).");
        prompts.MapGet("/{name}", Get).RequireRoles(Readers).WithSummary("A prompt's versions, labels and label history.");
        prompts.MapPost("/{name}/versions", CreateVersion).RequireRoles(Authors).WithIdempotency()
            .WithSummary("Create the next version; identical content returns the latest version (200) instead of a duplicate.");
        prompts.MapGet("/{name}/versions/{version:int}", GetVersion).RequireRoles(Readers).WithSummary("One immutable version.");
        prompts.MapGet("/{name}/diff", Diff).RequireRoles(Readers).WithSummary("Diff two versions: JSON, or unified text with format=unified.")
            .Produces<PromptVersionDiff>().Produces<string>(StatusCodes.Status200OK, "text/x-diff");
        prompts.MapPut("/{name}/labels/{label}", MoveLabel).RequireRoles(LabelMovers).WithIdempotency()
            .WithSummary("Point a label at a version (compare-and-set with expectedFrom / expectNew); 'production' needs operator or owner.");
        prompts.MapPost("/{name}/labels/{label}/rollback", RollbackLabel).RequireRoles(LabelMovers).WithIdempotency()
            .WithSummary("Move a label back to its previous target.");
        prompts.MapGet("/{name}/labels/history", LabelHistory).RequireRoles(Readers)
            .WithSummary("Every label move, oldest first; page with after (the previous page's nextAfter) and limit.");
        prompts.MapPost("/{name}/render", Render).RequireRoles(Readers).WithSummary("Render a version or label with variables.");
        return prompts;
    }

    public static async Task<Ok<PromptListResponse>> List(HttpContext context, IGrainFactory grains, int offset = 0, int limit = 100)
    {
        if (offset < 0 || limit is < 1 or > 500)
        {
            throw new PlatformException(ErrorKind.Invalid, "offset must be >= 0 and limit between 1 and 500.", "limit");
        }

        var names = await grains.GetGrain<IPromptIndexGrain>(context.GetCaller().TenantId).ListAsync();
        return TypedResults.Ok(new PromptListResponse([.. names.Skip(offset).Take(limit)], names.Count));
    }

    public static async Task<Ok<PromptSummary>> Get(string name, HttpContext context, IGrainFactory grains) =>
        TypedResults.Ok(await RequirePromptAsync(grains, context.GetCaller().TenantId, name));

    public static async Task<Results<Created<PromptVersion>, Ok<PromptVersion>>> CreateVersion(
        string name, CreatePromptVersionRequest request, HttpContext context, IGrainFactory grains)
    {
        var tenant = context.GetCaller().TenantId;
        var result = await grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, name)).CreateVersionAsync(request.ToContent(), request.Message ?? "", context.GetActor());
        return result.Created
            ? TypedResults.Created($"/api/v1/prompts/{name}/versions/{result.Version.Version}", result.Version)
            : TypedResults.Ok(result.Version);
    }

    public static async Task<Ok<PromptVersion>> GetVersion(string name, int version, HttpContext context, IGrainFactory grains, PromptService prompts)
    {
        var tenant = context.GetCaller().TenantId;
        var number = await grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, await ValidNameAsync(name))).ResolveAsync(version, null);
        return TypedResults.Ok(await prompts.GetVersionAsync(tenant, name, number));
    }

    public static async Task<IResult> Diff(string name, int from, int to, HttpContext context, IGrainFactory grains, PromptService prompts, string format = "json")
    {
        var tenant = context.GetCaller().TenantId;
        var grain = grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, await ValidNameAsync(name)));
        var a = await prompts.GetVersionAsync(tenant, name, await grain.ResolveAsync(from, null));
        var b = await prompts.GetVersionAsync(tenant, name, await grain.ResolveAsync(to, null));
        var diff = PromptDiff.Compare(name, a.Version, a.Content, b.Version, b.Content);
        return format switch
        {
            "unified" => TypedResults.Text(PromptDiff.Unified(diff), "text/x-diff"),
            "json" => TypedResults.Ok(diff),
            _ => throw new PlatformException(ErrorKind.Invalid, "format must be 'json' or 'unified'.", "format"),
        };
    }

    public static async Task<Ok<LabelMove>> MoveLabel(string name, string label, MoveLabelRequest request, HttpContext context, IGrainFactory grains)
    {
        var tenant = context.GetCaller().TenantId;
        var move = await grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, await ValidNameAsync(name)))
            .MoveLabelAsync(label, request.Version, request.ExpectedFrom, request.ExpectNew ?? false, context.GetActor());
        return TypedResults.Ok(move);
    }

    public static async Task<Ok<LabelMove>> RollbackLabel(string name, string label, HttpContext context, IGrainFactory grains, RollbackLabelRequest? request = null)
    {
        var tenant = context.GetCaller().TenantId;
        return TypedResults.Ok(await grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, await ValidNameAsync(name)))
            .RollbackLabelAsync(label, request?.ExpectedCurrent, context.GetActor()));
    }

    public static async Task<Ok<LabelHistoryPage>> LabelHistory(string name, HttpContext context, IGrainFactory grains, long after = 0, int limit = 100)
    {
        if (after < 0 || limit is < 1 or > 500)
        {
            throw new PlatformException(ErrorKind.Invalid, "after must be >= 0 and limit between 1 and 500.", "limit");
        }

        var tenant = context.GetCaller().TenantId;
        _ = await RequirePromptAsync(grains, tenant, name);
        return TypedResults.Ok(await grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, name)).GetLabelHistoryAsync(after, limit));
    }

    public static async Task<Ok<RenderResponse>> Render(string name, RenderRequest request, HttpContext context, PromptService prompts)
    {
        var rendered = await prompts.RenderAsync(context.GetCaller().TenantId, new PromptReference(name, request.Version, request.Label, request.Variables));
        return TypedResults.Ok(new RenderResponse(
            rendered.Version.Prompt,
            rendered.Version.Version,
            [.. rendered.Messages.Select(m => new RenderedMessageResponse(m.Role, m.Content))]));
    }

    public static async Task<Ok<PlanResponse>> Plan(PromptFilesRequest request, HttpContext context, PromptService prompts)
    {
        var plan = await prompts.PlanAsync(context.GetCaller().TenantId, ParseFiles(request));
        return TypedResults.Ok(new PlanResponse(plan, []));
    }

    public static async Task<Ok<PlanResponse>> Apply(PromptFilesRequest request, HttpContext context, PromptService prompts)
    {
        if (request.Label is { } label)
        {
            // Before anything is created: a refused label must not leave half an apply behind.
            PromptGrain.RequireMayMove(label, context.GetActor());
        }

        var (applied, moves) = await prompts.ApplyAsync(context.GetCaller().TenantId, ParseFiles(request), request.Label, context.GetActor());
        return TypedResults.Ok(new PlanResponse(applied, moves));
    }

    private static List<PromptFile> ParseFiles(PromptFilesRequest request)
    {
        if (request.Files is not { Count: > 0 and <= 500 } || request.Files.Any(f => f?.Path is null || f.Content is null))
        {
            throw new PlatformException(ErrorKind.Invalid, "files must hold 1 to 500 files, each with a path and content.", "files");
        }

        for (var i = 0; i < request.Files.Count; i++)
        {
            TextLimits.Require(request.Files[i].Path, TextLimits.Url, $"files[{i}].path");
        }

        var files = request.Files.Select(f => PromptFiles.Parse(f.Path, f.Content)).ToList();
        for (var i = 0; i < files.Count; i++)
        {
            // Before anything is created: a field over its limit in one file must not leave half an apply behind.
            try
            {
                PromptGrain.ValidateText(files[i].Content, files[i].CommitMessage);
            }
            catch (PlatformException ex) when (ex.Field is { } field)
            {
                throw new PlatformException(ErrorKind.Invalid, $"{files[i].Path}: {ex.Message}", $"files[{i}].{field}", ex.Code);
            }
        }

        var duplicate = files.GroupBy(f => f.Name).FirstOrDefault(g => g.Count() > 1);
        return duplicate is null
            ? files
            : throw new PlatformException(ErrorKind.Invalid, $"Prompt '{duplicate.Key}' is defined by more than one file: {string.Join(", ", duplicate.Select(f => f.Path))}.", "files");
    }

    private static async Task<PromptSummary> RequirePromptAsync(IGrainFactory grains, string tenant, string name) =>
        (PromptNames.IsValid(name) ? await grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, name)).GetAsync() : null)
        ?? throw PlatformException.NotFound($"Prompt '{name}'");

    private static Task<string> ValidNameAsync(string name) =>
        PromptNames.IsValid(name) ? Task.FromResult(name) : throw PlatformException.NotFound($"Prompt '{name}'");
}

public sealed record PromptListResponse(IReadOnlyList<string> Prompts, int Total);

public sealed record CreatePromptVersionRequest
{
    public required List<PromptMessageBody> Messages { get; init; }

    public List<PromptVariableBody>? Variables { get; init; }

    public PromptParametersBody? Parameters { get; init; }

    /// <summary>The commit message.</summary>
    public string? Message { get; init; }

    public PromptContent ToContent()
    {
        if (Messages is null || Messages.Any(m => m?.Role is null || m.Template is null))
        {
            throw new PlatformException(ErrorKind.Invalid, "messages must be a list of {role, template}.", "messages");
        }

        if (Variables is not null && Variables.Any(v => v?.Name is null || v.Type is null))
        {
            throw new PlatformException(ErrorKind.Invalid, "variables must be a list of {name, type}.", "variables");
        }

        return Map();
    }

    private PromptContent Map() => new(
        [.. Messages.Select(m => new PromptMessage(m.Role, m.Template))],
        [.. (Variables ?? []).Select(v => new PromptVariable(v.Name, v.Type, v.Required, v.Default?.GetRawText(), v.Description))],
        new PromptParameters(Parameters?.Model, Parameters?.Temperature, Parameters?.MaxTokens, Parameters?.ResponseFormat, Parameters?.Tools?.GetRawText()));
}

public sealed record PromptMessageBody
{
    public required string Role { get; init; }

    public required string Template { get; init; }
}

public sealed record PromptVariableBody
{
    public required string Name { get; init; }

    public required string Type { get; init; }

    public bool Required { get; init; }

    public JsonElement? Default { get; init; }

    public string? Description { get; init; }
}

public sealed record PromptParametersBody
{
    public string? Model { get; init; }

    public double? Temperature { get; init; }

    public int? MaxTokens { get; init; }

    public string? ResponseFormat { get; init; }

    public JsonElement? Tools { get; init; }
}

public sealed record MoveLabelRequest
{
    public required int Version { get; init; }

    /// <summary>The version the label must point at now, or 409.</summary>
    public int? ExpectedFrom { get; init; }

    /// <summary>The label must not exist yet, or 409.</summary>
    public bool? ExpectNew { get; init; }
}

public sealed record RenderRequest
{
    public int? Version { get; init; }

    public string? Label { get; init; }

    public Dictionary<string, JsonElement>? Variables { get; init; }
}

public sealed record RenderedMessageResponse(string Role, string Content);

public sealed record RenderResponse(string Prompt, int Version, IReadOnlyList<RenderedMessageResponse> Messages);

public sealed record RollbackLabelRequest
{
    /// <summary>The version the label must point at now, or 409.</summary>
    public int? ExpectedCurrent { get; init; }
}

public sealed record PromptFilesRequest
{
    public required List<PromptFileBody> Files { get; init; }

    /// <summary>Apply only: point this label at each prompt's latest version.</summary>
    public string? Label { get; init; }
}

public sealed record PromptFileBody
{
    public required string Path { get; init; }

    public required string Content { get; init; }
}

public sealed record PlanResponse(IReadOnlyList<PlanEntry> Prompts, IReadOnlyList<LabelMove> LabelMoves);
