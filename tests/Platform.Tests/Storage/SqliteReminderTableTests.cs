namespace Platform.Tests.Storage;

public sealed class SqliteReminderTableTests(SqliteStorageFixture fixture) : IClassFixture<SqliteStorageFixture>
{
    private static ReminderEntry Entry(GrainId grain, string name) => new()
    {
        GrainId = grain,
        ReminderName = name,
        StartAt = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc),
        Period = TimeSpan.FromMinutes(1),
    };

    [Fact]
    public async Task Upsert_ThenReadRow_RoundTrips()
    {
        var table = fixture.NewReminderTable();
        var grain = GrainId.Create("g", Guid.NewGuid().ToString("N"));

        var etag = await table.UpsertRow(Entry(grain, "tick"));
        var row = await table.ReadRow(grain, "tick");

        Assert.NotNull(row);
        Assert.Equal(etag, row.ETag);
        Assert.Equal(TimeSpan.FromMinutes(1), row.Period);
        Assert.Equal(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc), row.StartAt);
    }

    [Fact]
    public async Task Remove_WithStaleETag_Fails_WithCurrentETag_Succeeds()
    {
        var table = fixture.NewReminderTable();
        var grain = GrainId.Create("g", Guid.NewGuid().ToString("N"));
        var first = await table.UpsertRow(Entry(grain, "tick"));
        var second = await table.UpsertRow(Entry(grain, "tick"));

        Assert.NotEqual(first, second);
        Assert.False(await table.RemoveRow(grain, "tick", first!));
        Assert.True(await table.RemoveRow(grain, "tick", second!));
        Assert.Null(await table.ReadRow(grain, "tick"));
    }

    [Fact]
    public async Task ReadRows_ByRange_CoversTheWholeRingExactlyOnce()
    {
        var table = fixture.NewReminderTable(serviceId: "ring-" + Guid.NewGuid().ToString("N"));
        var grains = Enumerable.Range(0, 40).Select(i => GrainId.Create("g", $"ring-{i}")).ToList();
        foreach (var grain in grains)
        {
            await table.UpsertRow(Entry(grain, "r"));
        }

        // Split the ring into (a, b], (b, c], (c, a] where the last range wraps around zero.
        const uint a = 1_000_000_000, b = 2_500_000_000, c = 4_000_000_000;
        var found = new List<GrainId>();
        found.AddRange((await table.ReadRows(a, b)).Reminders.Select(r => r.GrainId));
        found.AddRange((await table.ReadRows(b, c)).Reminders.Select(r => r.GrainId));
        found.AddRange((await table.ReadRows(c, a)).Reminders.Select(r => r.GrainId));

        Assert.Equal(grains.OrderBy(g => g.ToString()), found.OrderBy(g => g.ToString()));
    }

    [Fact]
    public async Task ReadRows_OfGrain_ReturnsOnlyItsReminders()
    {
        var table = fixture.NewReminderTable();
        var grain = GrainId.Create("g", Guid.NewGuid().ToString("N"));
        var other = GrainId.Create("g", Guid.NewGuid().ToString("N"));
        await table.UpsertRow(Entry(grain, "one"));
        await table.UpsertRow(Entry(grain, "two"));
        await table.UpsertRow(Entry(other, "one"));

        var rows = await table.ReadRows(grain);

        Assert.Equal(["one", "two"], rows.Reminders.Select(r => r.ReminderName).Order());
    }
}
