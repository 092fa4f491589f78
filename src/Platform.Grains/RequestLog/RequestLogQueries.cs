namespace Platform.RequestLog;

/// <summary>
/// Where the request log lives: DuckDB in the data directory (embedded) or Azure Table Storage (azure). A batch is either
/// written whole or not at all; once <see cref="WriteAsync"/> returns, its rows survive a crash and are visible to queries.
/// </summary>
public interface IRequestLogStore
{
    Task WriteAsync(IReadOnlyList<RequestRecord> batch, CancellationToken cancellationToken = default);

    /// <summary>Newest first, <see cref="RequestLogQuery.Limit"/> rows at most, and where the next page starts.</summary>
    Task<RequestLogPage> ListAsync(RequestLogQuery query, CancellationToken cancellationToken = default);

    /// <summary>The newest row of the tenant with that id, or null (another tenant's id is null too).</summary>
    Task<RequestRecord?> GetAsync(string tenantId, string id, DateTime notBefore, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<RequestAggregate>> AggregateAsync(AggregateQuery query, CancellationToken cancellationToken = default);

    /// <summary>Deletes the tenant's rows older than <paramref name="cutoff"/>; returns how many went.</summary>
    Task<long> DeleteOlderThanAsync(string tenantId, DateTime cutoff, CancellationToken cancellationToken = default);

    /// <summary>Deletes every row of one end user of the tenant, and nothing else; returns how many went.</summary>
    Task<long> EraseUserAsync(string tenantId, string endUser, CancellationToken cancellationToken = default);
}

/// <summary>Where a page ends: the last row's time and id (rows are ordered by time, newest first, then by id).</summary>
public readonly record struct RequestLogPosition(DateTime At, string Id);

/// <summary>A page of the tenant's requests in <c>[From, To)</c> matching every filter that is set.</summary>
public sealed record RequestLogQuery(
    string TenantId,
    DateTime From,
    DateTime To,
    int Limit,
    string? Deployment = null,
    string? Model = null,
    string? User = null,
    bool? Success = null,
    int? Status = null,
    double? MinLatencyMs = null,
    long? MinCostNanoUsd = null,
    RequestLogPosition? After = null);

public sealed record RequestLogPage(IReadOnlyList<RequestRecord> Rows, RequestLogPosition? Next);

public enum AggregateGroup
{
    Model,
    Deployment,
    Key,
    User,
}

public enum AggregateBucket
{
    Hour,
    Day,
}

public sealed record AggregateQuery(string TenantId, DateTime From, DateTime To, AggregateGroup GroupBy, AggregateBucket Bucket);

/// <summary>One bucket of one group: counts, tokens, exact cost and latency percentiles (milliseconds).</summary>
public sealed record RequestAggregate(
    DateTime Bucket,
    string? Group,
    long Count,
    long Errors,
    long InputTokens,
    long OutputTokens,
    long CostNanoUsd,
    double LatencyP50Ms,
    double LatencyP95Ms,
    double LatencyP99Ms)
{
    public double ErrorRate => Count == 0 ? 0 : (double)Errors / Count;
}

/// <summary>Rules shared by the stores, so both answer the same question the same way.</summary>
public static class RequestLogRules
{
    /// <summary>The start of the bucket holding <paramref name="at"/>.</summary>
    public static DateTime BucketOf(DateTime at, AggregateBucket bucket) => bucket == AggregateBucket.Day
        ? new DateTime(at.Year, at.Month, at.Day, 0, 0, 0, DateTimeKind.Utc)
        : new DateTime(at.Year, at.Month, at.Day, at.Hour, 0, 0, DateTimeKind.Utc);

    /// <summary>The group a row falls in: the served route (else the requested model), deployment, key or end user.</summary>
    public static string? GroupOf(RequestRecord row, AggregateGroup group) => group switch
    {
        AggregateGroup.Model => row.ServedRoute ?? row.RequestedModel,
        AggregateGroup.Deployment => row.Deployment,
        AggregateGroup.Key => row.KeyId,
        _ => row.EndUser,
    };

    /// <summary>Whether a row matches the query's filters (time range and tenant included).</summary>
    public static bool Matches(RequestLogQuery query, RequestRecord row) =>
        row.TenantId == query.TenantId
        && row.At >= query.From && row.At < query.To
        && (query.Deployment is null || row.Deployment == query.Deployment)
        && (query.Model is null || row.ServedRoute == query.Model || row.RequestedModel == query.Model)
        && (query.User is null || row.EndUser == query.User)
        && (query.Success is null || row.Success == query.Success)
        && (query.Status is null || row.Status == query.Status)
        && (query.MinLatencyMs is null || row.LatencyMs >= query.MinLatencyMs)
        && (query.MinCostNanoUsd is null || row.CostNanoUsd >= query.MinCostNanoUsd);

    /// <summary>Continuous quantile of sorted values (linear interpolation, as DuckDB's <c>quantile_cont</c>).</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0)
        {
            return 0;
        }

        var position = (sorted.Count - 1) * q;
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, sorted.Count - 1);
        return sorted[lower] + ((sorted[upper] - sorted[lower]) * (position - lower));
    }

    /// <summary>Aggregates rows in memory (the Azure store's way; DuckDB does the same in SQL).</summary>
    public static IReadOnlyList<RequestAggregate> Aggregate(IEnumerable<RequestRecord> rows, AggregateQuery query) =>
        [.. rows
            .Where(r => r.TenantId == query.TenantId && r.At >= query.From && r.At < query.To)
            .GroupBy(r => (Bucket: BucketOf(r.At, query.Bucket), Group: GroupOf(r, query.GroupBy)))
            .Select(g =>
            {
                var latencies = g.Select(r => r.LatencyMs).Order().ToList();
                return new RequestAggregate(
                    g.Key.Bucket,
                    g.Key.Group,
                    g.LongCount(),
                    g.LongCount(r => !r.Success),
                    g.Sum(r => r.InputTokens),
                    g.Sum(r => r.OutputTokens),
                    g.Sum(r => r.CostNanoUsd),
                    Quantile(latencies, 0.5),
                    Quantile(latencies, 0.95),
                    Quantile(latencies, 0.99));
            })
            .OrderBy(a => a.Bucket)
            .ThenBy(a => a.Group, StringComparer.Ordinal)];
}
