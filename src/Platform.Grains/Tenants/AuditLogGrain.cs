using Platform.Hosting;
using Platform.Segments;

namespace Platform.Tenants;

/// <summary>
/// Append-only: there is no method to edit or remove an entry. The newest entries (at most one segment) are kept in
/// this grain's state with the log's counters; each full block of <see cref="SegmentedList.SegmentSize"/> entries is
/// sealed into a segment grain, so an append rewrites a record of bounded size however long the log is. Sequences are
/// 1, 2, 3... without gaps, so entry <c>n</c> lives in segment <c>(n - 1) / SegmentSize</c>.
/// An append with an entry id seen in the head or the previous segment returns that entry's sequence (idempotent).
/// A log stored as one record (before segments) is split into segments when it activates.
/// </summary>
public sealed class AuditLogGrain(
    [PersistentState("audit", PlatformStorage.Default)] IPersistentState<AuditLogState> state,
    TimeProvider time) : Grain, IAuditLogGrain
{
    public const int MaxPageSize = 500;

    private string TenantId => this.GetPrimaryKeyString();

    private string SegmentKey => "audit/" + TenantId;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var s = state.State;
        if (s.LastSequence == 0 && s.Entries.Count > 0)
        {
            // Stored as one record before segments existed: sequences are 1..n, so blocks line up with segment numbers.
            s.SealedSegments = await SegmentedList.MigrateAsync(GrainFactory, SegmentKey, 0, s.Entries);
            s.LastSequence = s.Entries[^1].Sequence;
            s.LastTime = s.Entries[^1].Time;
            await state.WriteStateAsync(cancellationToken);
        }
    }

    public async Task<long> AppendAsync(AuditRecord record)
    {
        var s = state.State;
        if (record.EntryId is { } id)
        {
            if (s.Entries.Find(e => e.EntryId == id) is { } existing)
            {
                return existing.Sequence;
            }

            if (s.PreviousIds.TryGetValue(id, out var sequence))
            {
                return sequence;
            }
        }

        var (head, sealedSegments, previousIds) = (s.Entries, s.SealedSegments, s.PreviousIds);
        if (await SegmentedList.SealIfFullAsync(GrainFactory, SegmentKey, s.SealedSegments, s.Entries))
        {
            s.PreviousIds = s.Entries.Where(e => e.EntryId is not null).ToDictionary(e => e.EntryId!, e => e.Sequence);
            s.Entries = [];
            s.SealedSegments++;
        }

        var last = s.LastTime;
        var at = record.At ?? time.GetUtcNow();
        var entry = new AuditEntry(
            Sequence: s.LastSequence + 1,
            Time: at < last ? last : at,
            TenantId: TenantId,
            ActorKeyId: record.Actor.KeyId,
            ActorTenantId: record.Actor.TenantId,
            ActorRole: record.Actor.Role.ToName(),
            Action: record.Action,
            Target: record.Target,
            Before: TextLimits.Truncate(record.Before, TextLimits.AuditDetail),
            After: TextLimits.Truncate(record.After, TextLimits.AuditDetail),
            RequestId: record.Actor.RequestId,
            EntryId: record.EntryId);
        s.Entries.Add(entry);
        s.LastSequence++;
        s.LastTime = entry.Time;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            s.LastSequence--;
            s.LastTime = last;
            s.Entries.RemoveAt(s.Entries.Count - 1);
            (s.Entries, s.SealedSegments, s.PreviousIds) = (head, sealedSegments, previousIds);
            throw;
        }

        return entry.Sequence;
    }

    public async Task<AuditPage> QueryAsync(AuditQuery query)
    {
        var s = state.State;
        var limit = Math.Clamp(query.Limit, 1, MaxPageSize);
        var segment = Math.Max(query.AfterSequence is { } after ? (int)Math.Min(Math.Max(after, 0) / SegmentedList.SegmentSize, s.SealedSegments) : 0,
            query.From is { } from ? await FirstSegmentEndingAtOrAfterAsync(from) : 0);
        var page = new List<AuditEntry>(limit + 1);
        for (; segment <= s.SealedSegments && page.Count <= limit; segment++)
        {
            var block = await SegmentedList.BlockAsync(GrainFactory, SegmentKey, s.SealedSegments, s.Entries, segment);
            var rest = AuditPaging.Page(block, query with { Limit = limit + 1 - page.Count }, MaxPageSize + 1);
            page.AddRange(rest.Entries);
            if (query.To is { } to && block.Count > 0 && block[^1].Time >= to)
            {
                break;
            }
        }

        return page.Count > limit ? new AuditPage(page.GetRange(0, limit), page[limit - 1].Sequence) : new AuditPage(page, null);
    }

    /// <summary>Entry times never decrease, so a binary search over sealed segments finds where <paramref name="from"/> starts.</summary>
    private async Task<int> FirstSegmentEndingAtOrAfterAsync(DateTimeOffset from)
    {
        int low = 0, high = state.State.SealedSegments;
        while (low < high)
        {
            var middle = (low + high) / 2;
            var block = await SegmentedList.Segment<AuditEntry>(GrainFactory, SegmentKey, middle).GetAsync();
            if (block.Count > 0 && block[^1].Time < from)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }
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
