using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Budgets;
using Platform.Deployments;
using Platform.Prompts;
using Platform.Silo.Auth;
using Platform.Silo.Gateway;
using Platform.Silo.Http;
using Platform.Tenants;

namespace Platform.Silo.Apis;

/// <summary>
/// Budgets and rate limits of the caller's tenant: <c>/api/v1/budgets</c>. A scope is the tenant, an API key (by id),
/// a deployment (by name) or an end user (the request's <c>user</c>); every end user without limits of their own gets
/// the tenant's default user limits. The spend report adds up the tenant budget's hourly rollups.
/// </summary>
public static class BudgetsApi
{
    private static readonly Role[] Readers = [Role.Owner, Role.Operator, Role.Developer, Role.Viewer];
    private static readonly Role[] Managers = [Role.Owner, Role.Operator];

    /// <summary>The longest range one report may cover.</summary>
    public static readonly TimeSpan MaxReportRange = TimeSpan.FromDays(400);

    public static RouteGroupBuilder MapBudgetsApi(this IEndpointRouteBuilder app)
    {
        var budgets = app.MapGroup("/api/v1/budgets").WithTags("Budgets").RequireAuthorization();
        budgets.MapGet("/", Overview).RequireRoles(Readers).WithSummary("Which scopes have limits, the default end-user limits, and the tenant's windows now.");
        budgets.MapGet("/report", Report).RequireRoles(Readers)
            .WithSummary("Spend over [from, to) (whole hours, UTC), grouped by tenant, key, deployment, model or user, from the tenant budget's hourly rollups.");
        budgets.MapPut("/default-user", SetDefaultUser).RequireRoles(Managers).WithIdempotency().WithSummary("Set the limits of every end user without limits of their own.");
        budgets.MapDelete("/default-user", RemoveDefaultUser).RequireRoles(Managers).WithIdempotency().WithSummary("Remove the default end-user limits.");
        budgets.MapGet("/{scope}/{id}", Get).RequireRoles(Readers).WithSummary("A scope's limits, current windows (spend, reserved, remaining, reset) and requests in flight.");
        budgets.MapPut("/{scope}/{id}", Set).RequireRoles(Managers).WithIdempotency()
            .WithSummary("Set a scope's limits (USD, tokens or requests per minute, hour, day, month or custom window; aligned or rolling). Spend already counted is kept.");
        budgets.MapDelete("/{scope}/{id}", Remove).RequireRoles(Managers).WithIdempotency().WithSummary("Remove a scope's limits.");
        budgets.MapPost("/{scope}/{id}/reset", Reset).RequireRoles(Managers).WithIdempotency().WithSummary("Zero the spend of the scope's current windows.");
        return budgets;
    }

    public static async Task<Ok<BudgetOverview>> Overview(HttpContext context, IGrainFactory grains)
    {
        var tenant = context.GetCaller().TenantId;
        var grain = grains.GetGrain<IBudgetGrain>(BudgetKeys.Tenant(tenant));
        var index = await grain.GetIndexAsync();
        return TypedResults.Ok(new BudgetOverview(await grain.GetStatusAsync(), index.Keys, index.Deployments, index.Users, index.DefaultUserPolicy));
    }

    public static async Task<Ok<BudgetStatus>> Get(string scope, string id, HttpContext context, IGrainFactory grains)
    {
        // A key or deployment that does not exist has no budget to show (and no grain is activated for it).
        var key = await ScopeKeyAsync(context, grains, scope, id, mustExist: true);
        return TypedResults.Ok(await grains.GetGrain<IBudgetGrain>(key.Grain).GetStatusAsync());
    }

    public static async Task<Ok<BudgetStatus>> Set(string scope, string id, BudgetPolicyRequest request, HttpContext context, IGrainFactory grains, BudgetIndexCache indexes)
    {
        var policy = request.ToPolicy();
        if (BudgetWindows.Validate(policy) is { } error)
        {
            throw new PlatformException(ErrorKind.Invalid, error.Message, error.Field);
        }

        var key = await ScopeKeyAsync(context, grains, scope, id, mustExist: true);
        var status = await grains.GetGrain<IBudgetGrain>(key.Grain).SetPolicyAsync(policy, context.GetActor());
        await IndexAsync(grains, indexes, key, limited: true);
        return TypedResults.Ok(status);
    }

    public static async Task<Ok<BudgetStatus>> Remove(string scope, string id, HttpContext context, IGrainFactory grains, BudgetIndexCache indexes)
    {
        var key = await ScopeKeyAsync(context, grains, scope, id, mustExist: false);
        var status = await grains.GetGrain<IBudgetGrain>(key.Grain).SetPolicyAsync(null, context.GetActor());
        await IndexAsync(grains, indexes, key, limited: false);
        return TypedResults.Ok(status);
    }

    public static async Task<Ok<BudgetStatus>> Reset(string scope, string id, HttpContext context, IGrainFactory grains)
    {
        var key = await ScopeKeyAsync(context, grains, scope, id, mustExist: false);
        return TypedResults.Ok(await grains.GetGrain<IBudgetGrain>(key.Grain).ResetAsync(context.GetActor()));
    }

    public static async Task<Ok<BudgetIndex>> SetDefaultUser(BudgetPolicyRequest request, HttpContext context, IGrainFactory grains, BudgetIndexCache indexes)
    {
        var policy = request.ToPolicy();
        if (BudgetWindows.Validate(policy) is { } error)
        {
            throw new PlatformException(ErrorKind.Invalid, error.Message, error.Field);
        }

        var tenant = context.GetCaller().TenantId;
        var index = await grains.GetGrain<IBudgetGrain>(BudgetKeys.Tenant(tenant)).SetDefaultUserPolicyAsync(policy, context.GetActor());
        indexes.Invalidate(tenant);
        return TypedResults.Ok(index);
    }

    public static async Task<Ok<BudgetIndex>> RemoveDefaultUser(HttpContext context, IGrainFactory grains, BudgetIndexCache indexes)
    {
        var tenant = context.GetCaller().TenantId;
        var index = await grains.GetGrain<IBudgetGrain>(BudgetKeys.Tenant(tenant)).SetDefaultUserPolicyAsync(null, context.GetActor());
        indexes.Invalidate(tenant);
        return TypedResults.Ok(index);
    }

    public static async Task<Ok<SpendReport>> Report(
        HttpContext context, IGrainFactory grains, DateTimeOffset? from = null, DateTimeOffset? to = null, string? groupBy = null, string? bucket = null)
    {
        // Checked before any arithmetic: a 'to' in year 1 minus the default 30 days is not a date (it was a 500).
        if (from < DateTimeOffset.UnixEpoch || to < DateTimeOffset.UnixEpoch)
        {
            throw new PlatformException(ErrorKind.Invalid, "from and to must be after 1970-01-01.", from < DateTimeOffset.UnixEpoch ? "from" : "to");
        }

        var end = to ?? DateTimeOffset.UtcNow.AddHours(1);
        var start = from ?? end.AddDays(-30);

        if (start >= end)
        {
            throw new PlatformException(ErrorKind.Invalid, "from must be before to.", "from");
        }

        if (end - start > MaxReportRange)
        {
            throw new PlatformException(ErrorKind.Invalid, $"A report covers at most {MaxReportRange.TotalDays} days; narrow from and to.", "from");
        }

        Func<SpendRollup, string> group = (groupBy ?? "model") switch
        {
            "tenant" => _ => context.GetCaller().TenantId,
            "key" => r => r.Dimensions.KeyId,
            "deployment" => r => r.Dimensions.Deployment ?? "(none)",
            "model" => r => r.Dimensions.Model,
            "user" => r => r.Dimensions.User ?? "(none)",
            _ => throw new PlatformException(ErrorKind.Invalid, "groupBy must be tenant, key, deployment, model or user.", "groupBy"),
        };
        Func<DateTimeOffset, DateTimeOffset?> bucketOf = (bucket ?? "none") switch
        {
            "none" => _ => null,
            "hour" => h => h,
            "day" => h => new DateTimeOffset(h.Year, h.Month, h.Day, 0, 0, 0, TimeSpan.Zero),
            _ => throw new PlatformException(ErrorKind.Invalid, "bucket must be none, hour or day.", "bucket"),
        };

        var hourStart = new DateTimeOffset(start.UtcTicks - (start.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero);
        var rollups = await grains.GetGrain<IBudgetGrain>(BudgetKeys.Tenant(context.GetCaller().TenantId)).GetRollupsAsync(hourStart, end);
        var rows = rollups
            .GroupBy(r => (Bucket: bucketOf(r.Hour), Group: group(r)))
            .Select(g => new SpendRow(g.Key.Group, g.Key.Bucket, g.Sum(r => r.Usd), g.Sum(r => r.Tokens), g.Sum(r => r.Requests)))
            .OrderBy(r => r.Bucket)
            .ThenByDescending(r => r.CostUsd)
            .ThenBy(r => r.Group, StringComparer.Ordinal)
            .ToList();
        var total = new SpendRow("total", null, rollups.Sum(r => r.Usd), rollups.Sum(r => r.Tokens), rollups.Sum(r => r.Requests));
        return TypedResults.Ok(new SpendReport(hourStart, end, groupBy ?? "model", rows, total));
    }

    private sealed record ScopeKey(string TenantId, BudgetScope Scope, string Id, string Grain);

    private static async Task<ScopeKey> ScopeKeyAsync(HttpContext context, IGrainFactory grains, string scope, string id, bool mustExist)
    {
        var tenant = context.GetCaller().TenantId;
        id = RouteId(context, id);
        var parsed = scope switch
        {
            "tenant" => BudgetScope.Tenant,
            "key" => BudgetScope.Key,
            "deployment" => BudgetScope.Deployment,
            "user" => BudgetScope.User,
            _ => throw new PlatformException(ErrorKind.Invalid, "scope must be tenant, key, deployment or user.", "scope"),
        };
        if (id.Length is 0 or > ChatRequestMapper.MaxIdentifierLength)
        {
            throw new PlatformException(ErrorKind.Invalid, $"id must be 1 to {ChatRequestMapper.MaxIdentifierLength} characters.", "id");
        }

        switch (parsed)
        {
            case BudgetScope.Tenant when id != tenant:
                throw PlatformException.NotFound($"Tenant '{Clip(id)}'");
            case BudgetScope.Key when mustExist && !(await grains.GetGrain<ITenantGrain>(tenant).ListKeysAsync()).Any(k => k.Id == id):
                throw PlatformException.NotFound($"API key '{Clip(id)}'");
            case BudgetScope.Deployment when mustExist
                && (!PromptNames.IsValid(id) || await grains.GetGrain<IDeploymentGrain>($"{tenant}/{id}").GetAsync() is null):
                throw PlatformException.NotFound($"Deployment '{Clip(id)}'");
        }

        return new ScopeKey(tenant, parsed, id, BudgetKeys.Of(tenant, parsed, id));
    }

    /// <summary>
    /// The id as the caller escaped it. The server decodes every escape in a path except <c>%2F</c>, so an end user
    /// <c>team/alice</c>, sent as <c>team%2Falice</c>, arrived as the literal <c>team%2Falice</c> and its limits were set on
    /// an id no request has (the user stayed unlimited). An id with a '%' left is read again from the raw target and
    /// unescaped once.
    /// </summary>
    private static string RouteId(HttpContext context, string id)
    {
        if (!id.Contains('%', StringComparison.Ordinal))
        {
            return id;
        }

        var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget;
        if (raw is null || !raw.StartsWith("/api/v1/budgets/", StringComparison.Ordinal))
        {
            return id.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        }

        var path = raw.Split('?', 2)[0].Split('/');

        // "", "api", "v1", "budgets", scope, id [, "reset"]
        return path.Length >= 6 ? Uri.UnescapeDataString(path[5]) : id;
    }

    private static async Task IndexAsync(IGrainFactory grains, BudgetIndexCache indexes, ScopeKey key, bool limited)
    {
        if (key.Scope != BudgetScope.Tenant)
        {
            await grains.GetGrain<IBudgetGrain>(BudgetKeys.Tenant(key.TenantId)).SetIndexedAsync(key.Scope, key.Id, limited);
        }

        indexes.Invalidate(key.TenantId);
    }

    private static string Clip(string value) => value.Length > 100 ? value[..100] + "..." : value;
}

public sealed record BudgetOverview(
    BudgetStatus Tenant, IReadOnlyList<string> Keys, IReadOnlyList<string> Deployments, IReadOnlyList<string> Users, BudgetPolicy? DefaultUserPolicy);

public sealed record SpendRow(string Group, DateTimeOffset? Bucket, decimal CostUsd, long Tokens, long Requests);

public sealed record SpendReport(DateTimeOffset From, DateTimeOffset To, string GroupBy, IReadOnlyList<SpendRow> Rows, SpendRow Total);

/// <summary>A scope's limits, as sent: each limit counts USD, tokens or requests per window; alerts fire at these percentages (default 50, 80, 100).</summary>
public sealed class BudgetPolicyRequest
{
    public required List<BudgetLimitRequest> Limits { get; init; }

    public List<int>? AlertThresholds { get; init; }

    public BudgetPolicy ToPolicy() => new(
        [.. Limits.Select(l => l is null ? null! : new BudgetLimit(l.Metric, l.Amount, l.Window, l.WindowSeconds, l.Rolling, l.Rollover))],
        AlertThresholds);
}

public sealed class BudgetLimitRequest
{
    /// <summary>usd, tokens or requests.</summary>
    public required BudgetMetric Metric { get; init; }

    /// <summary>At most this much per window (USD, or a whole number of tokens or requests).</summary>
    public required decimal Amount { get; init; }

    /// <summary>minute, hour, day, month or custom.</summary>
    public required BudgetWindow Window { get; init; }

    /// <summary>Only for window custom: its length in seconds.</summary>
    public long? WindowSeconds { get; init; }

    /// <summary>The last window's length up to now instead of UTC-aligned windows.</summary>
    public bool Rolling { get; init; }

    /// <summary>Aligned windows only: what a window leaves unused is added to the next (at most one window's amount).</summary>
    public bool Rollover { get; init; }
}
