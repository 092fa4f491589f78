using System.Data.Common;
using DuckDB.NET.Data;
using Platform.RequestLog;

namespace Platform.Silo.RequestLog;

/// <summary>
/// The embedded profile's request log: one DuckDB file in the data directory. One long-lived writer connection per store
/// appends each batch in one transaction (all or nothing; acknowledged once committed); every query opens its own
/// short-lived connection (a DuckDB connection is not thread-safe). DuckDB.NET keeps one native database per file per
/// process, so silos of one process that share a data directory share it; two processes cannot open one file, which
/// is why the embedded profile is one process per data directory. Queries take parameters only; the one column name
/// that varies (the aggregate's group) comes from a fixed list.
/// </summary>
public sealed class DuckDbRequestLogStore : IRequestLogStore, IDisposable
{
    public const string FileName = "requests.duckdb";

    private const string Columns =
        "id, tenant_id, at_utc, operation, stream, key_id, end_user, deployment, arm, revision, requested_model, served_route, "
        + "prompt_name, prompt_version, status, error_code, success, latency_ms, ttft_ms, input_tokens, cached_tokens, output_tokens, "
        + "cost_nano_usd, attempts, fallback, prompt_text, completion_text";

    // No primary key or index: appends stay cheap, and zone maps over time-ordered appends prune the range scans.
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS requests(
          id VARCHAR NOT NULL, tenant_id VARCHAR NOT NULL, at_utc TIMESTAMP NOT NULL, operation VARCHAR NOT NULL, stream BOOLEAN NOT NULL,
          key_id VARCHAR NOT NULL, end_user VARCHAR, deployment VARCHAR, arm VARCHAR, revision BIGINT, requested_model VARCHAR,
          served_route VARCHAR, prompt_name VARCHAR, prompt_version VARCHAR, status INTEGER NOT NULL, error_code VARCHAR,
          success BOOLEAN NOT NULL, latency_ms DOUBLE NOT NULL, ttft_ms DOUBLE, input_tokens BIGINT NOT NULL, cached_tokens BIGINT NOT NULL,
          output_tokens BIGINT NOT NULL, cost_nano_usd BIGINT NOT NULL, attempts INTEGER NOT NULL, fallback BOOLEAN NOT NULL,
          prompt_text VARCHAR, completion_text VARCHAR)
        """;

    private static readonly Lock SchemaLock = new();

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private DuckDBConnection? _writer;

    public DuckDbRequestLogStore(string dataDirectory)
    {
        var directory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(directory);
        FilePath = Path.Combine(directory, FileName);

        // This machine's silo shares its cores and memory with the gateway: DuckDB's defaults (every core, most of RAM) are not for it.
        _connectionString = $"Data Source={FilePath};threads=2;memory_limit=512MB";
        _writer = new DuckDBConnection(_connectionString);
        _writer.Open();
        lock (SchemaLock)
        {
            using var command = _writer.CreateCommand();
            command.CommandText = Schema;
            command.ExecuteNonQuery();
        }
    }

    public string FilePath { get; }

    public async Task WriteAsync(IReadOnlyList<RequestRecord> batch, CancellationToken cancellationToken = default)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var writer = _writer ?? throw new ObjectDisposedException(nameof(DuckDbRequestLogStore));
            using var transaction = writer.BeginTransaction();
            using (var appender = writer.CreateAppender("requests"))
            {
                foreach (var r in batch)
                {
                    appender.CreateRow()
                        .AppendValue(r.Id).AppendValue(r.TenantId).AppendValue(r.At).AppendValue(r.Operation).AppendValue(r.Stream)
                        .AppendValue(r.KeyId).AppendValue(r.EndUser).AppendValue(r.Deployment).AppendValue(r.Arm).AppendValue(r.Revision)
                        .AppendValue(r.RequestedModel).AppendValue(r.ServedRoute).AppendValue(r.PromptName).AppendValue(r.PromptVersion)
                        .AppendValue(r.Status).AppendValue(r.ErrorCode).AppendValue(r.Success).AppendValue(r.LatencyMs)
                        .AppendValue(r.TimeToFirstTokenMs).AppendValue(r.InputTokens).AppendValue(r.CachedTokens).AppendValue(r.OutputTokens)
                        .AppendValue(r.CostNanoUsd).AppendValue(r.Attempts).AppendValue(r.Fallback).AppendValue(r.PromptText)
                        .AppendValue(r.CompletionText)
                        .EndRow();
                }
            }

            transaction.Commit();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public Task<RequestLogPage> ListAsync(RequestLogQuery query, CancellationToken cancellationToken = default)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        var sql = new System.Text.StringBuilder($"SELECT {Columns} FROM requests WHERE tenant_id = $tenant AND at_utc >= $from AND at_utc < $to");
        Add(command, "tenant", query.TenantId);
        Add(command, "from", query.From);
        Add(command, "to", query.To);
        Filter(sql, command, "deployment = $deployment", "deployment", query.Deployment);
        Filter(sql, command, "(served_route = $model OR requested_model = $model)", "model", query.Model);
        Filter(sql, command, "end_user = $user", "user", query.User);
        Filter(sql, command, "success = $success", "success", query.Success);
        Filter(sql, command, "status = $status", "status", query.Status);
        Filter(sql, command, "latency_ms >= $latency", "latency", query.MinLatencyMs);
        Filter(sql, command, "cost_nano_usd >= $cost", "cost", query.MinCostNanoUsd);
        if (query.After is { } after)
        {
            sql.Append(" AND (at_utc < $afterAt OR (at_utc = $afterAt AND id < $afterId))");
            Add(command, "afterAt", after.At);
            Add(command, "afterId", after.Id);
        }

        sql.Append(" ORDER BY at_utc DESC, id DESC LIMIT $limit");
        Add(command, "limit", query.Limit + 1);
        command.CommandText = sql.ToString();
        var rows = ReadRows(command);
        RequestLogPosition? next = null;
        if (rows.Count > query.Limit)
        {
            rows.RemoveAt(rows.Count - 1);
            next = new RequestLogPosition(rows[^1].At, rows[^1].Id);
        }

        return Task.FromResult(new RequestLogPage(rows, next));
    }

    public Task<RequestRecord?> GetAsync(string tenantId, string id, DateTime notBefore, CancellationToken cancellationToken = default)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM requests WHERE tenant_id = $tenant AND id = $id AND at_utc >= $from ORDER BY at_utc DESC LIMIT 1";
        Add(command, "tenant", tenantId);
        Add(command, "id", id);
        Add(command, "from", notBefore);
        return Task.FromResult(ReadRows(command).FirstOrDefault());
    }

    public Task<IReadOnlyList<RequestAggregate>> AggregateAsync(AggregateQuery query, CancellationToken cancellationToken = default)
    {
        var group = query.GroupBy switch
        {
            AggregateGroup.Model => "coalesce(served_route, requested_model)",
            AggregateGroup.Deployment => "deployment",
            AggregateGroup.Key => "key_id",
            AggregateGroup.User => "end_user",
            _ => throw new ArgumentOutOfRangeException(nameof(query)),
        };
        var bucket = query.Bucket == AggregateBucket.Day ? "day" : "hour";
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT date_trunc('{bucket}', at_utc) AS bucket, {group} AS grp, count(*) AS n, count(*) FILTER (WHERE NOT success) AS errors,
              CAST(sum(input_tokens) AS BIGINT), CAST(sum(output_tokens) AS BIGINT), CAST(sum(cost_nano_usd) AS BIGINT),
              quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.95), quantile_cont(latency_ms, 0.99)
            FROM requests WHERE tenant_id = $tenant AND at_utc >= $from AND at_utc < $to
            GROUP BY ALL ORDER BY bucket, grp NULLS FIRST
            """;
        Add(command, "tenant", query.TenantId);
        Add(command, "from", query.From);
        Add(command, "to", query.To);
        var result = new List<RequestAggregate>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result.Add(new RequestAggregate(
                DateTime.SpecifyKind(reader.GetDateTime(0), DateTimeKind.Utc),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.GetInt64(2),
                reader.GetInt64(3),
                reader.GetInt64(4),
                reader.GetInt64(5),
                reader.GetInt64(6),
                reader.GetDouble(7),
                reader.GetDouble(8),
                reader.GetDouble(9)));
        }

        return Task.FromResult<IReadOnlyList<RequestAggregate>>(result);
    }

    public Task<long> DeleteOlderThanAsync(string tenantId, DateTime cutoff, CancellationToken cancellationToken = default) =>
        Task.FromResult(Delete("DELETE FROM requests WHERE tenant_id = $tenant AND at_utc < $value", tenantId, cutoff));

    public Task<long> EraseUserAsync(string tenantId, string endUser, CancellationToken cancellationToken = default) =>
        Task.FromResult(Delete("DELETE FROM requests WHERE tenant_id = $tenant AND end_user = $value", tenantId, endUser));

    /// <summary>Closes the writer connection (after the writer has drained: see <see cref="RequestLogWriter"/>).</summary>
    public void Dispose()
    {
        _writeLock.Wait();
        try
        {
            _writer?.Dispose();
            _writer = null;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private long Delete(string sql, string tenantId, object value)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        Add(command, "tenant", tenantId);
        Add(command, "value", value);
        return command.ExecuteNonQuery();
    }

    private DuckDBConnection Open()
    {
        var connection = new DuckDBConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static void Add(DbCommand command, string name, object value) => command.Parameters.Add(new DuckDBParameter(name, value));

    private static void Filter(System.Text.StringBuilder sql, DbCommand command, string clause, string name, object? value)
    {
        if (value is not null)
        {
            sql.Append(" AND ").Append(clause);
            Add(command, name, value);
        }
    }

    private static List<RequestRecord> ReadRows(DbCommand command)
    {
        var rows = new List<RequestRecord>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(new RequestRecord
            {
                Id = reader.GetString(0),
                TenantId = reader.GetString(1),
                At = DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc),
                Operation = reader.GetString(3),
                Stream = reader.GetBoolean(4),
                KeyId = reader.GetString(5),
                EndUser = String(reader, 6),
                Deployment = String(reader, 7),
                Arm = String(reader, 8),
                Revision = reader.IsDBNull(9) ? null : reader.GetInt64(9),
                RequestedModel = String(reader, 10),
                ServedRoute = String(reader, 11),
                PromptName = String(reader, 12),
                PromptVersion = String(reader, 13),
                Status = reader.GetInt32(14),
                ErrorCode = String(reader, 15),
                Success = reader.GetBoolean(16),
                LatencyMs = reader.GetDouble(17),
                TimeToFirstTokenMs = reader.IsDBNull(18) ? null : reader.GetDouble(18),
                InputTokens = reader.GetInt64(19),
                CachedTokens = reader.GetInt64(20),
                OutputTokens = reader.GetInt64(21),
                CostNanoUsd = reader.GetInt64(22),
                Attempts = reader.GetInt32(23),
                Fallback = reader.GetBoolean(24),
                PromptText = String(reader, 25),
                CompletionText = String(reader, 26),
            });
        }

        return rows;
    }

    private static string? String(DbDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
}
