using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Deployments;
using Platform.Gateway;
using Platform.Prompts;
using Platform.Silo.Auth;
using Platform.Silo.Gateway;
using Platform.Silo.Http;
using Platform.Tenants;

namespace Platform.Silo.Apis;

/// <summary>Deployments of the caller's tenant: <c>/api/v1/deployments</c>. Clients call them with <c>model: "&lt;deployment&gt;"</c>.</summary>
public static class DeploymentsApi
{
    private static readonly Role[] Readers = [Role.Owner, Role.Operator, Role.Developer, Role.Viewer];
    private static readonly Role[] Operators = [Role.Owner, Role.Operator];

    public static RouteGroupBuilder MapDeploymentsApi(this IEndpointRouteBuilder app)
    {
        var deployments = app.MapGroup("/api/v1/deployments").WithTags("Deployments").RequireAuthorization();
        deployments.MapPost("/", Create).RequireRoles(Operators).WithIdempotency().WithSummary("Create a deployment with its stable release and rollout policy.");
        deployments.MapGet("/{name}", Get).RequireRoles(Readers).WithSummary("Current state and per-arm metrics of the current experiment.");
        deployments.MapGet("/{name}/metrics", Metrics).RequireRoles(Readers)
            .WithSummary("Per-arm metrics of the requests in [from, to) (default: the last 15 minutes; at most the last hour).");
        deployments.MapGet("/{name}/history", History).RequireRoles(Readers)
            .WithSummary("Every change and automatic decision, with the numbers that decided it, oldest first; page with after (the previous page's nextAfter) and limit.");
        deployments.MapPost("/{name}/canary", StartCanary).RequireRoles(Operators).WithIdempotency().WithSummary("Start a canary release (one at a time).");
        deployments.MapPut("/{name}/canary/weight", SetWeight).RequireRoles(Operators).WithIdempotency().WithSummary("Set the canary's traffic weight (0-100).");
        deployments.MapPost("/{name}/canary/pause", Pause).RequireRoles(Operators).WithIdempotency().WithSummary("Freeze automatic decisions (traffic keeps its weight).");
        deployments.MapPost("/{name}/canary/resume", Resume).RequireRoles(Operators).WithIdempotency().WithSummary("Resume automatic decisions.");
        deployments.MapPost("/{name}/canary/promote", Promote).RequireRoles(Operators).WithIdempotency().WithSummary("Make the canary the stable release.");
        deployments.MapPost("/{name}/canary/rollback", Rollback).RequireRoles(Operators).WithIdempotency().WithSummary("Send all traffic back to stable.");
        return deployments;
    }

    public static async Task<Created<DeploymentView>> Create(CreateDeploymentRequest request, HttpContext context, IGrainFactory grains, ModelCatalogProvider catalogs)
    {
        if (!PromptNames.IsValid(request.Name))
        {
            throw new PlatformException(ErrorKind.Invalid, "name must be 1-100 lowercase letters, digits, '-', '_' or '.', starting with a letter.", "name");
        }

        var caller = context.GetCaller();
        await ValidateReleaseAsync(caller.TenantId, request.Stable, "stable", catalogs, grains);
        var snapshot = await Grain(grains, caller.TenantId, request.Name).CreateAsync(request.Stable, request.Policy ?? new RolloutPolicy(), context.GetActor());
        return TypedResults.Created($"/api/v1/deployments/{request.Name}", new DeploymentView(snapshot, null));
    }

    public static async Task<Ok<DeploymentView>> Get(string name, HttpContext context, IGrainFactory grains)
    {
        var key = Key(context, name);
        var snapshot = await grains.GetGrain<IDeploymentGrain>(key).GetAsync() ?? throw PlatformException.NotFound($"Deployment '{name}'");
        var report = await grains.GetGrain<IMonitorGrain>(key).GetReportAsync();
        return TypedResults.Ok(new DeploymentView(snapshot, report));
    }

    public static async Task<Ok<MonitorReport>> Metrics(string name, HttpContext context, IGrainFactory grains, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        var key = Key(context, name);
        _ = await grains.GetGrain<IDeploymentGrain>(key).GetAsync() ?? throw PlatformException.NotFound($"Deployment '{name}'");
        var end = to ?? DateTimeOffset.UtcNow.AddMinutes(1);
        if (end < DateTimeOffset.UnixEpoch || (from is { } f && f < DateTimeOffset.UnixEpoch))
        {
            throw new PlatformException(ErrorKind.Invalid, "from and to must be after 1970-01-01.", "to");
        }

        var start = from ?? end.AddMinutes(-16);
        if (start >= end)
        {
            throw new PlatformException(ErrorKind.Invalid, "from must be before to.", "from");
        }

        return TypedResults.Ok(await grains.GetGrain<IMonitorGrain>(key).GetRangeAsync(start, end));
    }

    public static async Task<Ok<DeploymentHistoryPage>> History(string name, HttpContext context, IGrainFactory grains, long after = 0, int limit = 100)
    {
        if (after < 0 || limit is < 1 or > 500)
        {
            throw new PlatformException(ErrorKind.Invalid, "after must be >= 0 and limit between 1 and 500.", "limit");
        }

        var grain = grains.GetGrain<IDeploymentGrain>(Key(context, name));
        _ = await grain.GetAsync() ?? throw PlatformException.NotFound($"Deployment '{name}'");
        return TypedResults.Ok(await grain.GetHistoryAsync(after, limit));
    }

    public static async Task<Ok<DeploymentSnapshot>> StartCanary(string name, StartCanaryRequest request, HttpContext context, IGrainFactory grains, ModelCatalogProvider catalogs, DeploymentRouter router)
    {
        var caller = context.GetCaller();
        await ValidateReleaseAsync(caller.TenantId, request.Release, "release", catalogs, grains);
        var snapshot = await Grain(grains, caller.TenantId, name).StartCanaryAsync(
            request.Release, request.Weight, request.Policy, request.Reason ?? "manual", context.GetActor(), GateOverride(request.GateOverride));
        router.Invalidate(caller.TenantId, name);
        return TypedResults.Ok(snapshot);
    }

    public static Task<Ok<DeploymentSnapshot>> SetWeight(string name, SetWeightRequest request, HttpContext context, IGrainFactory grains, DeploymentRouter router) =>
        Act(context, grains, router, name, g => g.SetWeightAsync(request.Weight, request.ExpectedRevision, request.Reason ?? "manual", null, context.GetActor()));

    public static Task<Ok<DeploymentSnapshot>> Pause(string name, ReasonRequest? request, HttpContext context, IGrainFactory grains, DeploymentRouter router) =>
        Act(context, grains, router, name, g => g.PauseAsync(true, request?.Reason ?? "manual", context.GetActor()));

    public static Task<Ok<DeploymentSnapshot>> Resume(string name, ReasonRequest? request, HttpContext context, IGrainFactory grains, DeploymentRouter router) =>
        Act(context, grains, router, name, g => g.PauseAsync(false, request?.Reason ?? "manual", context.GetActor()));

    public static Task<Ok<DeploymentSnapshot>> Promote(string name, ReasonRequest? request, HttpContext context, IGrainFactory grains, DeploymentRouter router) =>
        Act(context, grains, router, name, g => g.PromoteAsync(request?.ExpectedRevision, request?.Reason ?? "manual", null, context.GetActor(), GateOverride(request?.GateOverride)));

    public static Task<Ok<DeploymentSnapshot>> Rollback(string name, ReasonRequest? request, HttpContext context, IGrainFactory grains, DeploymentRouter router) =>
        Act(context, grains, router, name, g => g.RollbackAsync(request?.ExpectedRevision, request?.Reason ?? "manual", null, context.GetActor()));

    private static async Task<Ok<DeploymentSnapshot>> Act(HttpContext context, IGrainFactory grains, DeploymentRouter router, string name, Func<IDeploymentGrain, Task<DeploymentSnapshot>> action)
    {
        var tenant = context.GetCaller().TenantId;
        var grain = Grain(grains, tenant, name);
        _ = await grain.GetAsync() ?? throw PlatformException.NotFound($"Deployment '{name}'");
        var snapshot = await action(grain);
        router.Invalidate(tenant, name);
        return TypedResults.Ok(snapshot);
    }

    /// <summary>A release must name an existing chat route and, when it names a prompt, an existing version or label.</summary>
    internal static async Task ValidateReleaseAsync(string tenant, Release release, string field, ModelCatalogProvider catalogs, IGrainFactory grains)
    {
        if (release is null || string.IsNullOrWhiteSpace(release.ModelRoute))
        {
            throw new PlatformException(ErrorKind.Invalid, $"{field}.modelRoute is required.", $"{field}.modelRoute");
        }

        var route = catalogs.Current.Find(release.ModelRoute) ?? throw new PlatformException(ErrorKind.NotFound, $"Model route '{release.ModelRoute}' was not found.", $"{field}.modelRoute");
        if (route.Route.Mode != ModelModes.Chat)
        {
            throw new PlatformException(ErrorKind.Invalid, $"Model route '{release.ModelRoute}' is not a chat route.", $"{field}.modelRoute");
        }

        if (release.PromptVersion is not null && release.PromptLabel is not null)
        {
            throw new PlatformException(ErrorKind.Invalid, $"{field}: name a prompt version or a label, not both.", $"{field}.promptLabel");
        }

        if (release.Prompt is not null)
        {
            if (!PromptNames.IsValid(release.Prompt))
            {
                throw new PlatformException(ErrorKind.NotFound, $"Prompt '{release.Prompt}' was not found.", $"{field}.prompt");
            }

            await grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, release.Prompt)).ResolveAsync(release.PromptVersion, release.PromptLabel);
        }

        if (release.Temperature is < 0 or > 2 || release.MaxTokens is <= 0)
        {
            throw new PlatformException(ErrorKind.Invalid, $"{field}: temperature must be 0-2 and maxTokens positive.", field);
        }
    }

    private static string? GateOverride(string? reason) =>
        reason is { Length: > TextLimits.Reason }
            ? throw new PlatformException(ErrorKind.Invalid, $"gateOverride must be at most {TextLimits.Reason} characters.", "gateOverride")
            : string.IsNullOrWhiteSpace(reason) ? null : reason;

    private static IDeploymentGrain Grain(IGrainFactory grains, string tenant, string name) =>
        PromptNames.IsValid(name) ? grains.GetGrain<IDeploymentGrain>($"{tenant}/{name}") : throw PlatformException.NotFound($"Deployment '{name}'");

    private static string Key(HttpContext context, string name) =>
        PromptNames.IsValid(name) ? $"{context.GetCaller().TenantId}/{name}" : throw PlatformException.NotFound($"Deployment '{name}'");
}

public sealed record CreateDeploymentRequest
{
    public required string Name { get; init; }

    public required Release Stable { get; init; }

    public RolloutPolicy? Policy { get; init; }
}

public sealed record StartCanaryRequest
{
    public required Release Release { get; init; }

    public int? Weight { get; init; }

    public RolloutPolicy? Policy { get; init; }

    public string? Reason { get; init; }

    /// <summary>Starts the canary although the evaluation gate fails; the reason is recorded and audited.</summary>
    public string? GateOverride { get; init; }
}

public sealed record SetWeightRequest
{
    public required int Weight { get; init; }

    public long? ExpectedRevision { get; init; }

    public string? Reason { get; init; }
}

public sealed record ReasonRequest
{
    public string? Reason { get; init; }

    public long? ExpectedRevision { get; init; }

    /// <summary>Promotes although the evaluation gate fails; the reason is recorded and audited.</summary>
    public string? GateOverride { get; init; }
}

public sealed record DeploymentView(DeploymentSnapshot Deployment, MonitorReport? Metrics);
