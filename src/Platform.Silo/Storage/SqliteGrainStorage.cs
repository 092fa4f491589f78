using System.Globalization;
using Microsoft.Data.Sqlite;
using Orleans.Storage;

namespace Platform.Silo.Storage;

/// <summary>
/// Grain storage in the embedded SQLite file, with ETag optimistic concurrency: a write
/// carries the version it read, and a write that lost the race fails with
/// <see cref="InconsistentStateException"/> instead of overwriting the winner.
/// </summary>
public sealed partial class SqliteGrainStorage(
    string name,
    SqliteDatabase database,
    IGrainStorageSerializer serializer,
    ILogger<SqliteGrainStorage> logger) : IGrainStorage
{
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await using var connection = await database.OpenAsync().ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT etag, data FROM grain_state WHERE state_name = $state AND grain_id = $id";
        AddKey(command, stateName, grainId);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false))
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        var etag = reader.GetInt64(0);
        var data = (byte[])reader.GetValue(1);
        grainState.State = serializer.Deserialize<T>(new BinaryData(data));
        grainState.ETag = etag.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var data = serializer.Serialize(grainState.State).ToArray();
        using var write = await database.BeginWriteAsync().ConfigureAwait(false);
        await using var connection = await database.OpenAsync().ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        AddKey(command, stateName, grainId);
        command.Parameters.AddWithValue("$data", data);
        command.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));

        long newEtag;
        if (grainState.ETag is null)
        {
            newEtag = 1;
            command.CommandText = """
                INSERT INTO grain_state (state_name, grain_id, etag, data, updated_at)
                VALUES ($state, $id, 1, $data, $now)
                ON CONFLICT (state_name, grain_id) DO NOTHING
                """;
        }
        else
        {
            var expected = ParseEtag(grainState.ETag);
            newEtag = expected + 1;
            command.CommandText = """
                UPDATE grain_state SET etag = etag + 1, data = $data, updated_at = $now
                WHERE state_name = $state AND grain_id = $id AND etag = $etag
                """;
            command.Parameters.AddWithValue("$etag", expected);
        }

        var rows = await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        if (rows != 1)
        {
            LogWriteConflict(logger, name, grainId, grainState.ETag);
            throw new InconsistentStateException(
                $"Grain state {stateName} of {grainId} was changed by another writer (expected ETag '{grainState.ETag ?? "<none>"}').",
                storedEtag: "unknown",
                currentEtag: grainState.ETag ?? string.Empty);
        }

        grainState.ETag = newEtag.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        using var write = await database.BeginWriteAsync().ConfigureAwait(false);
        await using var connection = await database.OpenAsync().ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        AddKey(command, stateName, grainId);
        if (grainState.ETag is null)
        {
            command.CommandText = "SELECT count(*) FROM grain_state WHERE state_name = $state AND grain_id = $id";
            var existing = Convert.ToInt64(await command.ExecuteScalarAsync().ConfigureAwait(false), CultureInfo.InvariantCulture);
            if (existing != 0)
            {
                throw new InconsistentStateException(
                    $"Grain state {stateName} of {grainId} was written by another writer and cannot be cleared blindly.",
                    storedEtag: "unknown",
                    currentEtag: string.Empty);
            }
        }
        else
        {
            command.CommandText = "DELETE FROM grain_state WHERE state_name = $state AND grain_id = $id AND etag = $etag";
            command.Parameters.AddWithValue("$etag", ParseEtag(grainState.ETag));
            if (await command.ExecuteNonQueryAsync().ConfigureAwait(false) != 1)
            {
                LogWriteConflict(logger, name, grainId, grainState.ETag);
                throw new InconsistentStateException(
                    $"Grain state {stateName} of {grainId} was changed by another writer (expected ETag '{grainState.ETag}').",
                    storedEtag: "unknown",
                    currentEtag: grainState.ETag);
            }
        }

        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private static void AddKey(SqliteCommand command, string stateName, GrainId grainId)
    {
        command.Parameters.AddWithValue("$state", stateName);
        command.Parameters.AddWithValue("$id", grainId.ToString());
    }

    private static long ParseEtag(string etag) =>
        long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InconsistentStateException($"ETag '{etag}' was not written by this storage.", "unknown", etag);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage {StorageName}: write to {GrainId} lost a race (ETag {ETag}).")]
    private static partial void LogWriteConflict(ILogger logger, string storageName, GrainId grainId, string? etag);
}
