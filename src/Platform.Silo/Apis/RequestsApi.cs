using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Platform.RequestLog;
using Platform.Silo.Auth;
using Platform.Silo.Gateway;
using Platform.Tenants;

namespace Platform.Silo.Apis;

/// <summary>
/// The request log of the caller's tenant: <c>/api/v1/requests</c>. The tenant is always the caller's, never a parameter, so
/// another tenant's request is simply not found. Times are ISO 8601 and ranges are <c>[from, to)</c>, at most the tenant's
/// retention long; every parameter is checked and a bad one is a 400 naming it.
/// </summary>
public static class RequestsApi
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 1000;

    private static readonly Role[] Readers = [Role.Owner, Role.Operator, Role.Developer, Role.Viewer];
    private static readonly Role[] Managers = [Role.Owner, Role.Operator];

    public static RouteGroupBuilder MapRequestsApi(this IEndpointRouteBuilder app)
    {
        var requests = app.MapGroup("/api/v1/requests").WithTags("Requests").RequireAuthorization();
        requests.MapGet("/", List).RequireRoles(Readers)
            .WithSummary("The tenant's requests, newest first, filtered by time range, deployment, model, end user, status, latency and cost; paged by cursor.");
        requests.MapGet("/aggregates", Aggregates).RequireRoles(Readers)
            .WithSummary("Per hour or day and per model, deployment, key or user: requests, error rate, tokens, cost and latency p50/p95/p99.");
        requests.MapGet("/{id}", Get).RequireRoles(Readers).WithSummary("One request by its id (the x-request-id header; a chat completion's id works too).");
        requests.MapDelete("/", Erase).RequireRoles(Managers)
            .WithSummary("Erase every request of one end user (user=...); audited. Other users' requests are untouched.");
        requests.MapPost("/retention/run", RunRetention).RequireRoles(Managers)
            .WithSummary("Delete the tenant's requests older than its retention now, rather than at the next daily run.");
        return requests;
    }

    public static async Task<Ok<RequestPageResponse>> List(
        HttpContext context,
        IGrainFactory grains,
        IRequestLogStore store,
        string? from = null,
        string? to = null,
        string? deployment = null,
        string? model = null,
        string? user = null,
        string? status = null,
        string? minLatencyMs = null,
        string? minCostUsd = null,
        string? limit = null,
        string? cursor = null)
    {
        var caller = context.GetCaller();
        var (start, end) = Range(from, to, await RetentionDaysAsync(grains, caller.TenantId));
        var (success, code) = Status(status);
        var query = new RequestLogQuery(
            caller.TenantId,
            start,
            end,
            Limit(limit),
            Identifier(deployment, "deployment"),
            Identifier(model, "model"),
            Identifier(user, "user"),
            success,
            code,
            NonNegative(minLatencyMs, "minLatencyMs"),
            minCostUsd is null ? null : NanoUsd.FromUsd((decimal)NonNegativeDecimal(minCostUsd, "minCostUsd")));
        if (cursor is not null)
        {
            query = query with
            {
                After = RequestLogCursor.TryDecode(query, cursor) ?? throw Invalid(
                    "cursor is not one this API returned for these filters; start again without it, or repeat the filters it came with.", "cursor"),
            };
        }

        var page = await store.ListAsync(query, context.RequestAborted);
        return TypedResults.Ok(new RequestPageResponse(
            [.. page.Rows.Select(RequestResponse.From)], page.Next is { } next ? RequestLogCursor.Encode(query, next) : null));
    }

    public static async Task<Ok<RequestResponse>> Get(string id, HttpContext context, IGrainFactory grains, IRequestLogStore store)
    {
        var caller = context.GetCaller();
        var requestId = id.StartsWith("chatcmpl-", StringComparison.Ordinal) ? id["chatcmpl-".Length..] : id;
        var notBefore = DateTime.UtcNow.AddDays(-await RetentionDaysAsync(grains, caller.TenantId));
        var row = requestId.Length is > 0 and <= 128 ? await store.GetAsync(caller.TenantId, requestId, notBefore, context.RequestAborted) : null;
        return TypedResults.Ok(RequestResponse.From(row ?? throw PlatformException.NotFound($"Request '{Truncate(id)}'")));
    }

    public static async Task<Ok<AggregatesResponse>> Aggregates(
        HttpContext context, IGrainFactory grains, IRequestLogStore store, string? from = null, string? to = null, string? groupBy = null, string? bucket = null)
    {
        var caller = context.GetCaller();
        var (start, end) = Range(from, to, await RetentionDaysAsync(grains, caller.TenantId));
        var group = (groupBy ?? "model") switch
        {
            "model" => AggregateGroup.Model,
            "deployment" => AggregateGroup.Deployment,
            "key" => AggregateGroup.Key,
            "user" => AggregateGroup.User,
            _ => throw Invalid("groupBy must be model, deployment, key or user.", "groupBy"),
        };
        var size = (bucket ?? "hour") switch
        {
            "hour" => AggregateBucket.Hour,
            "day" => AggregateBucket.Day,
            _ => throw Invalid("bucket must be hour or day.", "bucket"),
        };
        var rows = await store.AggregateAsync(new AggregateQuery(caller.TenantId, start, end, group, size), context.RequestAborted);
        return TypedResults.Ok(new AggregatesResponse(start, end, groupBy ?? "model", bucket ?? "hour", [.. rows.Select(AggregateResponse.From)]));
    }

    public static async Task<Ok<DeletedResponse>> Erase(HttpContext context, IGrainFactory grains, IRequestLogStore store, string? user = null)
    {
        var endUser = Identifier(user, "user") ?? throw Invalid("user is required: the end user whose requests to erase.", "user");
        var actor = context.GetActor();

        // Recorded before the rows go: an erasure that fails halfway is in the log, and repeating it finishes the job.
        await grains.GetGrain<IAuditLogGrain>(actor.TenantId).AppendAsync(
            new AuditRecord(actor, "requests.erase", $"user/{endUser}", null, null, EntryId: "requests.erase/" + actor.RequestId));
        var deleted = await store.EraseUserAsync(actor.TenantId, endUser, context.RequestAborted);
        return TypedResults.Ok(new DeletedResponse(deleted));
    }

    public static async Task<Ok<DeletedResponse>> RunRetention(HttpContext context, IGrainFactory grains) =>
        TypedResults.Ok(new DeletedResponse(
            await grains.GetGrain<IRequestLogRetentionGrain>(IRequestLogRetentionGrain.Key).RunAsync(context.GetCaller().TenantId)));

    private static async Task<int> RetentionDaysAsync(IGrainFactory grains, string tenantId) =>
        (await grains.GetGrain<ITenantGrain>(tenantId).GetAsync())?.Settings.RetentionDays ?? RequestLogPolicy.DefaultRetentionDays;

    /// <summary>[from, to): by default the retention window up to now; never longer than the retention.</summary>
    public static (DateTime From, DateTime To) Range(string? from, string? to, int retentionDays)
    {
        var end = to is null ? DateTime.UtcNow.AddSeconds(1) : Time(to, "to");
        var start = from is null ? end.AddDays(-retentionDays) : Time(from, "from");
        if (start >= end)
        {
            throw Invalid("from must be before to.", "from");
        }

        if (end - start > TimeSpan.FromDays(retentionDays))
        {
            throw Invalid($"from and to span more than the tenant's retention of {retentionDays} days; older requests are not kept. Narrow the range.", "from");
        }

        return (start, end);
    }

    private static DateTime Time(string value, string name) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var parsed)
        && parsed >= DateTimeOffset.UnixEpoch && parsed.Year < 9000
            ? parsed.UtcDateTime
            : throw Invalid($"{name} must be an ISO 8601 time after 1970, such as 2025-01-31T00:00:00Z.", name);

    private static (bool? Success, int? Code) Status(string? value) => value switch
    {
        null => (null, null),
        "success" => (true, null),
        "error" => (false, null),
        _ when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 100 and <= 599 => (null, code),
        _ => throw Invalid("status must be success, error or an HTTP status code (100-599).", "status"),
    };

    private static int Limit(string? value) => value is null
        ? DefaultLimit
        : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit is >= 1 and <= MaxLimit
            ? limit
            : throw Invalid($"limit must be a whole number from 1 to {MaxLimit}.", "limit");

    private static double? NonNegative(string? value, string name) => value is null
        ? null
        : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number is >= 0 and < 1e12
            ? number
            : throw Invalid($"{name} must be a number of at least 0.", name);

    private static decimal NonNegativeDecimal(string value, string name) =>
        decimal.TryParse(value, NumberStyles.Number, CultureInfo.InvariantCulture, out var number) && number is >= 0 and < 1_000_000_000m
            ? number
            : throw Invalid($"{name} must be an amount in US dollars of at least 0, such as 0.01.", name);

    private static string? Identifier(string? value, string name) => value switch
    {
        null => null,
        { Length: 0 or > ChatRequestMapper.MaxIdentifierLength } => throw Invalid(
            $"{name} must be 1-{ChatRequestMapper.MaxIdentifierLength} characters.", name),
        _ => value,
    };

    private static string Truncate(string value) => value.Length > 100 ? value[..100] + "..." : value;

    private static PlatformException Invalid(string message, string field) => new(ErrorKind.Invalid, message, field);
}

public sealed record RequestPageResponse(IReadOnlyList<RequestResponse> Data, string? Next);

public sealed record RequestResponse(
    string Id,
    DateTime At,
    string Operation,
    bool Stream,
    string KeyId,
    string? User,
    string? Deployment,
    string? Arm,
    long? Revision,
    string? Model,
    string? Route,
    string? PromptName,
    string? PromptVersion,
    int Status,
    string? ErrorCode,
    bool Success,
    double LatencyMs,
    double? TimeToFirstTokenMs,
    long InputTokens,
    long CachedTokens,
    long OutputTokens,
    decimal CostUsd,
    int Attempts,
    bool Fallback,
    string? PromptText,
    string? CompletionText)
{
    public static RequestResponse From(RequestRecord r) => new(
        r.Id, r.At, r.Operation, r.Stream, r.KeyId, r.EndUser, r.Deployment, r.Arm, r.Revision, r.RequestedModel, r.ServedRoute, r.PromptName,
        r.PromptVersion, r.Status, r.ErrorCode, r.Success, r.LatencyMs, r.TimeToFirstTokenMs, r.InputTokens, r.CachedTokens, r.OutputTokens,
        r.CostUsd, r.Attempts, r.Fallback, r.PromptText, r.CompletionText);
}

public sealed record AggregatesResponse(DateTime From, DateTime To, string GroupBy, string Bucket, IReadOnlyList<AggregateResponse> Data);

public sealed record AggregateResponse(
    DateTime Bucket,
    string? Group,
    long Count,
    double ErrorRate,
    long InputTokens,
    long OutputTokens,
    decimal CostUsd,
    double LatencyP50Ms,
    double LatencyP95Ms,
    double LatencyP99Ms)
{
    public static AggregateResponse From(RequestAggregate a) => new(
        a.Bucket, a.Group, a.Count, a.ErrorRate, a.InputTokens, a.OutputTokens, NanoUsd.ToUsd(a.CostNanoUsd), a.LatencyP50Ms, a.LatencyP95Ms, a.LatencyP99Ms);
}

public sealed record DeletedResponse(long Deleted);
