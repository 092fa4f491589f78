using Platform.Tenants;

namespace Platform.Tests.Tenants;

public sealed class AuditPagingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static List<AuditEntry> Entries(int count) =>
        [.. Enumerable.Range(1, count).Select(i => new AuditEntry(i, T0.AddMinutes(i), "t", "k", "t", "owner", "a", "x", null, null, "r"))];

    [Fact]
    public void Page_WithCursor_WalksAllEntriesOnceInOrder()
    {
        var entries = Entries(25);
        var seen = new List<long>();
        long? after = null;
        do
        {
            var page = AuditPaging.Page(entries, new AuditQuery(null, null, after, 10), 500);
            seen.AddRange(page.Entries.Select(e => e.Sequence));
            after = page.NextAfterSequence;
        }
        while (after is not null);

        Assert.Equal(Enumerable.Range(1, 25).Select(i => (long)i), seen);
    }

    [Fact]
    public void Page_WithTimeRange_ReturnsOnlyEntriesInsideHalfOpenRange()
    {
        var page = AuditPaging.Page(Entries(10), new AuditQuery(T0.AddMinutes(3), T0.AddMinutes(6), null, 100), 500);

        Assert.Equal([3L, 4L, 5L], page.Entries.Select(e => e.Sequence));
        Assert.Null(page.NextAfterSequence);
    }

    [Fact]
    public void Page_LimitAboveMaximum_IsCapped()
    {
        var page = AuditPaging.Page(Entries(30), new AuditQuery(null, null, null, 1000), maxPageSize: 20);

        Assert.Equal(20, page.Entries.Count);
        Assert.Equal(20, page.NextAfterSequence);
    }
}
