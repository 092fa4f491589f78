using Microsoft.Data.Sqlite;

namespace Platform.Silo.Storage;

/// <summary>
/// The embedded profile's one SQLite file: grain state, pub-sub state and reminders.
/// Opens pooled connections in WAL mode, so readers never wait for the writer.
/// </summary>
public sealed class SqliteDatabase : IDisposable
{
    /// <summary>The file name inside <c>Platform:DataDirectory</c>.</summary>
    public const string FileName = "platform.db";

    private readonly string _connectionString;
    private readonly Lazy<Task> _schema;

    /// <summary>
    /// SQLite has one writer at a time. A second writer of this process would get SQLITE_BUSY, which Microsoft.Data.Sqlite
    /// retries after sleeping 150 ms; queueing writers here instead costs them only the writes ahead of them.
    /// </summary>
    private readonly SemaphoreSlim _writer = new(1, 1);

    public SqliteDatabase(string dataDirectory)
    {
        FilePath = Path.GetFullPath(Path.Combine(dataDirectory, FileName));
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _schema = new Lazy<Task>(CreateSchemaAsync);
    }

    public string FilePath { get; }

    /// <summary>Waits for this process's turn to write; dispose the lease once the write is done.</summary>
    public async Task<WriteLease> BeginWriteAsync()
    {
        await _writer.WaitAsync().ConfigureAwait(false);
        return new WriteLease(_writer);
    }

    public void Dispose() => _writer.Dispose();

    public readonly struct WriteLease(SemaphoreSlim writer) : IDisposable
    {
        public void Dispose() => writer.Release();
    }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        await _schema.Value.ConfigureAwait(false);
        return await OpenRawAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<SqliteConnection> OpenRawAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private async Task CreateSchemaAsync()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        await using var connection = await OpenRawAsync(CancellationToken.None).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
            CREATE TABLE IF NOT EXISTS grain_state (
                state_name TEXT NOT NULL,
                grain_id   TEXT NOT NULL,
                etag       INTEGER NOT NULL,
                data       BLOB NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (state_name, grain_id)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS reminders (
                service_id    TEXT NOT NULL,
                grain_id      TEXT NOT NULL,
                reminder_name TEXT NOT NULL,
                grain_hash    INTEGER NOT NULL,
                start_at      INTEGER NOT NULL,
                period_ticks  INTEGER NOT NULL,
                etag          INTEGER NOT NULL,
                PRIMARY KEY (service_id, grain_id, reminder_name)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS reminders_by_hash ON reminders (service_id, grain_hash);
            """;
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>Cheap round trip for readiness: the file opens and answers a query.</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM grain_state WHERE 0";
        await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }
}
