using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Platform.Silo.Storage;

/// <summary>Durable reminders in the embedded SQLite file, ETag-checked like grain state.</summary>
public sealed class SqliteReminderTable(SqliteDatabase database, IOptions<ClusterOptions> clusterOptions) : IReminderTable
{
    private readonly string _serviceId = clusterOptions.Value.ServiceId;

    public Task Init() => Task.CompletedTask;

    public async Task<ReminderTableData> ReadRows(GrainId grainId)
    {
        await using var connection = await database.OpenAsync().ConfigureAwait(false);
        await using var command = Select(connection, "grain_id = $grainId");
        command.Parameters.AddWithValue("$grainId", grainId.ToString());
        return await ReadAsync(command).ConfigureAwait(false);
    }

    public async Task<ReminderTableData> ReadRows(uint begin, uint end)
    {
        // Hashes in the ring range (begin, end]; a range with begin >= end wraps around zero.
        await using var connection = await database.OpenAsync().ConfigureAwait(false);
        await using var command = Select(
            connection,
            begin < end ? "grain_hash > $begin AND grain_hash <= $end" : "(grain_hash > $begin OR grain_hash <= $end)");
        command.Parameters.AddWithValue("$begin", (long)begin);
        command.Parameters.AddWithValue("$end", (long)end);
        return await ReadAsync(command).ConfigureAwait(false);
    }

    public async Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName)
    {
        await using var connection = await database.OpenAsync().ConfigureAwait(false);
        await using var command = Select(connection, "grain_id = $grainId AND reminder_name = $name");
        command.Parameters.AddWithValue("$grainId", grainId.ToString());
        command.Parameters.AddWithValue("$name", reminderName);
        var data = await ReadAsync(command).ConfigureAwait(false);
        return data.Reminders.FirstOrDefault();
    }

    public async Task<string?> UpsertRow(ReminderEntry entry)
    {
        using var write = await database.BeginWriteAsync().ConfigureAwait(false);
        await using var connection = await database.OpenAsync().ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO reminders (service_id, grain_id, reminder_name, grain_hash, start_at, period_ticks, etag)
            VALUES ($service, $grainId, $name, $hash, $startAt, $period, 1)
            ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE SET
                start_at = excluded.start_at, period_ticks = excluded.period_ticks, etag = reminders.etag + 1
            RETURNING etag
            """;
        command.Parameters.AddWithValue("$service", _serviceId);
        command.Parameters.AddWithValue("$grainId", entry.GrainId.ToString());
        command.Parameters.AddWithValue("$name", entry.ReminderName);
        command.Parameters.AddWithValue("$hash", (long)entry.GrainId.GetUniformHashCode());
        command.Parameters.AddWithValue("$startAt", entry.StartAt.ToUniversalTime().Ticks);
        command.Parameters.AddWithValue("$period", entry.Period.Ticks);
        var etag = Convert.ToInt64(await command.ExecuteScalarAsync().ConfigureAwait(false), CultureInfo.InvariantCulture);
        return etag.ToString(CultureInfo.InvariantCulture);
    }

    public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        if (!long.TryParse(eTag, NumberStyles.None, CultureInfo.InvariantCulture, out var expected))
        {
            return false;
        }

        using var write = await database.BeginWriteAsync().ConfigureAwait(false);
        await using var connection = await database.OpenAsync().ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            DELETE FROM reminders
            WHERE service_id = $service AND grain_id = $grainId AND reminder_name = $name AND etag = $etag
            """;
        command.Parameters.AddWithValue("$service", _serviceId);
        command.Parameters.AddWithValue("$grainId", grainId.ToString());
        command.Parameters.AddWithValue("$name", reminderName);
        command.Parameters.AddWithValue("$etag", expected);
        return await command.ExecuteNonQueryAsync().ConfigureAwait(false) == 1;
    }

    public async Task TestOnlyClearTable()
    {
        using var write = await database.BeginWriteAsync().ConfigureAwait(false);
        await using var connection = await database.OpenAsync().ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM reminders WHERE service_id = $service";
        command.Parameters.AddWithValue("$service", _serviceId);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    private SqliteCommand Select(SqliteConnection connection, string where)
    {
        var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT grain_id, reminder_name, start_at, period_ticks, etag FROM reminders
            WHERE service_id = $service AND {where}
            """;
        command.Parameters.AddWithValue("$service", _serviceId);
        return command;
    }

    private static async Task<ReminderTableData> ReadAsync(SqliteCommand command)
    {
        var entries = new List<ReminderEntry>();
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            entries.Add(new ReminderEntry
            {
                GrainId = GrainId.Parse(reader.GetString(0)),
                ReminderName = reader.GetString(1),
                StartAt = new DateTime(reader.GetInt64(2), DateTimeKind.Utc),
                Period = TimeSpan.FromTicks(reader.GetInt64(3)),
                ETag = reader.GetInt64(4).ToString(CultureInfo.InvariantCulture),
            });
        }

        return new ReminderTableData(entries);
    }
}
