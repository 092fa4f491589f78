using Azure;
using Azure.Data.Tables;
using Platform.RequestLog;

namespace Platform.Silo.RequestLog;

/// <summary>
/// The azure profile's request log: one Azure table whose partition key is the tenant and the hour, inverted so that
/// newer hours sort first (<c>{tenant}|{inverted hour}</c>), and whose row key is the inverted time and the request id.
/// A tenant's time range is therefore one contiguous key range of its own partitions: every query is bounded by
/// <c>PartitionKey ge … and PartitionKey le …</c> with the tenant's prefix, and reads no other tenant's partition.
/// Batches are written as transactions of at most 100 rows of one partition (upserts, so a retry cannot fail on a row
/// that landed). Tables cannot aggregate: aggregates read the range's needed columns and add up in memory.
/// </summary>
public sealed class AzureTableRequestLogStore(TableServiceClient service, string tableName = AzureTableRequestLogStore.DefaultTable) : IRequestLogStore
{
    public const string DefaultTable = "PlatformRequestLog";

    private const int MaxTransactionRows = 100;

    /// <summary>Well under the 4 MiB a transaction may carry.</summary>
    private const long MaxTransactionBytes = 3 * 1024 * 1024;

    private static readonly string[] AggregateColumns = ["Id", "TenantId", "At", "Success", "InputTokens", "OutputTokens", "CostNanoUsd", "LatencyMs", "ServedRoute",
        "RequestedModel", "Deployment", "KeyId", "EndUser"];

    private readonly TableClient _table = service.GetTableClient(tableName);
    private Task? _created;

    public static string PartitionKey(string tenantId, DateTime at) =>
        $"{tenantId}|{(DateTime.MaxValue.Ticks - (at.Ticks - (at.Ticks % TimeSpan.TicksPerHour))) / TimeSpan.TicksPerHour:D10}";

    public static string RowKey(DateTime at, string id) => $"{DateTime.MaxValue.Ticks - at.Ticks:D19}|{id}";

    /// <summary>Transactions for a batch: rows grouped by partition, at most 100 rows and about 3 MiB each.</summary>
    public static IEnumerable<IReadOnlyList<RequestRecord>> Transactions(IEnumerable<RequestRecord> batch)
    {
        foreach (var partition in batch.GroupBy(r => PartitionKey(r.TenantId, r.At)))
        {
            var chunk = new List<RequestRecord>(MaxTransactionRows);
            long bytes = 0;
            foreach (var row in partition)
            {
                var size = 2048 + (2L * ((row.PromptText?.Length ?? 0) + (row.CompletionText?.Length ?? 0)));
                if (chunk.Count == MaxTransactionRows || (chunk.Count > 0 && bytes + size > MaxTransactionBytes))
                {
                    yield return chunk;
                    chunk = new List<RequestRecord>(MaxTransactionRows);
                    bytes = 0;
                }

                chunk.Add(row);
                bytes += size;
            }

            if (chunk.Count > 0)
            {
                yield return chunk;
            }
        }
    }

    public async Task WriteAsync(IReadOnlyList<RequestRecord> batch, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken);

        // A row may appear twice in a batch only if a caller reused a request id within the same tick; keep the last.
        var unique = batch.GroupBy(r => (r.TenantId, r.At, r.Id)).Select(g => g.Last());
        foreach (var transaction in Transactions(unique))
        {
            await _table.SubmitTransactionAsync(
                transaction.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(r))), cancellationToken);
        }
    }

    public async Task<RequestLogPage> ListAsync(RequestLogQuery query, CancellationToken cancellationToken = default)
    {
        var newest = query.After is { } after ? after.At : query.To;
        var filters = new List<string>
        {
            TableClient.CreateQueryFilter($"PartitionKey ge {PartitionKey(query.TenantId, newest)} and PartitionKey le {PartitionKey(query.TenantId, query.From)}"),
            TableClient.CreateQueryFilter($"At ge {query.From} and At lt {query.To}"),
        };
        if (query.After is { } position)
        {
            filters.Add(TableClient.CreateQueryFilter(
                $"(PartitionKey gt {PartitionKey(query.TenantId, position.At)} or RowKey gt {RowKey(position.At, position.Id)})"));
        }

        AddIf(filters, query.Deployment, v => TableClient.CreateQueryFilter($"Deployment eq {v}"));
        AddIf(filters, query.Model, v => TableClient.CreateQueryFilter($"(ServedRoute eq {v} or RequestedModel eq {v})"));
        AddIf(filters, query.User, v => TableClient.CreateQueryFilter($"EndUser eq {v}"));
        AddIf(filters, query.Success, v => TableClient.CreateQueryFilter($"Success eq {v}"));
        AddIf(filters, query.Status, v => TableClient.CreateQueryFilter($"Status eq {v}"));
        AddIf(filters, query.MinLatencyMs, v => TableClient.CreateQueryFilter($"LatencyMs ge {v}"));
        AddIf(filters, query.MinCostNanoUsd, v => TableClient.CreateQueryFilter($"CostNanoUsd ge {v}"));

        var rows = new List<RequestRecord>(query.Limit + 1);
        await EnsureTableAsync(cancellationToken);

        // With non-key filters the service may answer short or empty pages with a continuation: read on until full.
        await foreach (var entity in _table.QueryAsync<TableEntity>(string.Join(" and ", filters), maxPerPage: Math.Min(query.Limit + 1, 1000),
            cancellationToken: cancellationToken))
        {
            rows.Add(FromEntity(entity));
            if (rows.Count > query.Limit)
            {
                break;
            }
        }

        RequestLogPosition? next = null;
        if (rows.Count > query.Limit)
        {
            rows.RemoveAt(rows.Count - 1);
            next = new RequestLogPosition(rows[^1].At, rows[^1].Id);
        }

        return new RequestLogPage(rows, next);
    }

    public async Task<RequestRecord?> GetAsync(string tenantId, string id, DateTime notBefore, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey ge {PartitionKey(tenantId, DateTime.UtcNow.AddHours(1))} and PartitionKey le {PartitionKey(tenantId, notBefore)} and Id eq {id}");
        await foreach (var entity in _table.QueryAsync<TableEntity>(filter, maxPerPage: 1, cancellationToken: cancellationToken))
        {
            return FromEntity(entity);
        }

        return null;
    }

    public async Task<IReadOnlyList<RequestAggregate>> AggregateAsync(AggregateQuery query, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey ge {PartitionKey(query.TenantId, query.To)} and PartitionKey le {PartitionKey(query.TenantId, query.From)} and At ge {query.From} and At lt {query.To}");
        var rows = new List<RequestRecord>();
        await foreach (var entity in _table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: AggregateColumns, cancellationToken: cancellationToken))
        {
            rows.Add(FromEntity(entity, query.TenantId));
        }

        return RequestLogRules.Aggregate(rows, query);
    }

    public async Task<long> DeleteOlderThanAsync(string tenantId, DateTime cutoff, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken);

        // Older hours have larger inverted hours: from the cutoff's hour to the end of the tenant's prefix ('}' follows '|').
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey ge {PartitionKey(tenantId, cutoff)} and PartitionKey lt {tenantId + "}"} and At lt {cutoff}");
        return await DeleteAsync(filter, cancellationToken);
    }

    public async Task<long> EraseUserAsync(string tenantId, string endUser, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken);
        var filter = TableClient.CreateQueryFilter($"PartitionKey gt {tenantId + "|"} and PartitionKey lt {tenantId + "}"} and EndUser eq {endUser}");
        return await DeleteAsync(filter, cancellationToken);
    }

    private async Task<long> DeleteAsync(string filter, CancellationToken cancellationToken)
    {
        var keys = new List<(string Partition, string Row)>();
        await foreach (var entity in _table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            keys.Add((entity.PartitionKey, entity.RowKey));
        }

        foreach (var partition in keys.GroupBy(k => k.Partition))
        {
            foreach (var chunk in partition.Chunk(MaxTransactionRows))
            {
                await _table.SubmitTransactionAsync(
                    chunk.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(k.Partition, k.Row), ETag.All)),
                    cancellationToken);
            }
        }

        return keys.Count;
    }

    private Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        var created = _created;
        if (created is { IsCompletedSuccessfully: true })
        {
            return Task.CompletedTask;
        }

        return _created = _table.CreateIfNotExistsAsync(cancellationToken);
    }

    private static void AddIf<T>(List<string> filters, T? value, Func<T, string> filter)
    {
        if (value is not null)
        {
            filters.Add(filter(value));
        }
    }

    private static TableEntity ToEntity(RequestRecord r) => new(PartitionKey(r.TenantId, r.At), RowKey(r.At, r.Id))
    {
        ["Id"] = r.Id,
        ["TenantId"] = r.TenantId,
        ["At"] = DateTime.SpecifyKind(r.At, DateTimeKind.Utc),
        ["Operation"] = r.Operation,
        ["Stream"] = r.Stream,
        ["KeyId"] = r.KeyId,
        ["EndUser"] = r.EndUser,
        ["Deployment"] = r.Deployment,
        ["Arm"] = r.Arm,
        ["Revision"] = r.Revision,
        ["RequestedModel"] = r.RequestedModel,
        ["ServedRoute"] = r.ServedRoute,
        ["PromptName"] = r.PromptName,
        ["PromptVersion"] = r.PromptVersion,
        ["Status"] = r.Status,
        ["ErrorCode"] = r.ErrorCode,
        ["Success"] = r.Success,
        ["LatencyMs"] = r.LatencyMs,
        ["TimeToFirstTokenMs"] = r.TimeToFirstTokenMs,
        ["InputTokens"] = r.InputTokens,
        ["CachedTokens"] = r.CachedTokens,
        ["OutputTokens"] = r.OutputTokens,
        ["CostNanoUsd"] = r.CostNanoUsd,
        ["Attempts"] = r.Attempts,
        ["Fallback"] = r.Fallback,
        ["PromptText"] = r.PromptText,
        ["CompletionText"] = r.CompletionText,
    };

    private static RequestRecord FromEntity(TableEntity e, string? tenantId = null) => new()
    {
        Id = e.GetString("Id") ?? e.RowKey[(e.RowKey.IndexOf('|', StringComparison.Ordinal) + 1)..],
        TenantId = e.GetString("TenantId") ?? tenantId ?? e.PartitionKey[..e.PartitionKey.IndexOf('|', StringComparison.Ordinal)],
        At = e.GetDateTimeOffset("At")?.UtcDateTime ?? default,
        Operation = e.GetString("Operation") ?? "",
        Stream = e.GetBoolean("Stream") ?? false,
        KeyId = e.GetString("KeyId") ?? "",
        EndUser = e.GetString("EndUser"),
        Deployment = e.GetString("Deployment"),
        Arm = e.GetString("Arm"),
        Revision = e.GetInt64("Revision"),
        RequestedModel = e.GetString("RequestedModel"),
        ServedRoute = e.GetString("ServedRoute"),
        PromptName = e.GetString("PromptName"),
        PromptVersion = e.GetString("PromptVersion"),
        Status = e.GetInt32("Status") ?? 0,
        ErrorCode = e.GetString("ErrorCode"),
        Success = e.GetBoolean("Success") ?? false,
        LatencyMs = e.GetDouble("LatencyMs") ?? 0,
        TimeToFirstTokenMs = e.GetDouble("TimeToFirstTokenMs"),
        InputTokens = e.GetInt64("InputTokens") ?? 0,
        CachedTokens = e.GetInt64("CachedTokens") ?? 0,
        OutputTokens = e.GetInt64("OutputTokens") ?? 0,
        CostNanoUsd = e.GetInt64("CostNanoUsd") ?? 0,
        Attempts = e.GetInt32("Attempts") ?? 0,
        Fallback = e.GetBoolean("Fallback") ?? false,
        PromptText = e.GetString("PromptText"),
        CompletionText = e.GetString("CompletionText"),
    };
}
