using Platform.Hosting;

namespace Platform.Tenants;

/// <summary>
/// Append-only: there is no method to edit or remove an entry. Entries are kept in one state
/// record; a tenant with a very long history should be split into segments (noted as follow-up).
/// </summary>
public sealed class AuditLogGrain(
    [PersistentState("audit", PlatformStorage.Default)] IPersistentState<AuditLogState> state,
    TimeProvider time) : Grain, IAuditLogGrain
{
    public const int MaxPageSize = 500;

    public async Task<AuditEntry> AppendAsync(AuditRecord record)
    {
        var entries = state.State.Entries;
        var entry = new AuditEntry(
            Sequence: entries.Count == 0 ? 1 : entries[^1].Sequence + 1,
            Time: time.GetUtcNow(),
            TenantId: this.GetPrimaryKeyString(),
            ActorKeyId: record.Actor.KeyId,
            ActorTenantId: record.Actor.TenantId,
            ActorRole: record.Actor.Role.ToName(),
            Action: record.Action,
            Target: record.Target,
            Before: record.Before,
            After: record.After,
            RequestId: record.Actor.RequestId);
        entries.Add(entry);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            entries.RemoveAt(entries.Count - 1);
            throw;
        }

        return entry;
    }

    public Task<AuditPage> QueryAsync(AuditQuery query) => Task.FromResult(AuditPaging.Page(state.State.Entries, query, MaxPageSize));
}

/// <summary>Time-filtered, sequence-cursor paging over an ordered entry list.</summary>
public static class AuditPaging
{
    public static AuditPage Page(IReadOnlyList<AuditEntry> entries, AuditQuery query, int maxPageSize)
    {
        var limit = Math.Clamp(query.Limit, 1, maxPageSize);
        var page = new List<AuditEntry>(Math.Min(limit, entries.Count));
        long? next = null;
        foreach (var entry in entries)
        {
            if ((query.AfterSequence is { } after && entry.Sequence <= after)
                || (query.From is { } from && entry.Time < from)
                || (query.To is { } to && entry.Time >= to))
            {
                continue;
            }

            if (page.Count == limit)
            {
                next = page[^1].Sequence;
                break;
            }

            page.Add(entry);
        }

        return new AuditPage(page, next);
    }
}
