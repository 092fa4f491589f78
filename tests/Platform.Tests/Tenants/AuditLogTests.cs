using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Platform.Hosting;
using Platform.Prompts;
using Platform.Segments;
using Platform.Tenants;

namespace Platform.Tests.Tenants;

[Collection(ClusterCollection.Name)]
public sealed class AuditLogTests(ClusterFixture fixture)
{
    private static readonly Actor Owner = new("key_owner", "t", Role.Owner, "req-audit");
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static string NewTenantId() => "a" + Guid.NewGuid().ToString("N")[..12];

    private static PromptContent Content(string text) => new([new PromptMessage("system", text)], [], new PromptParameters());

    private async Task<List<AuditEntry>> ReadAllAsync(string tenant, int pageSize = 500)
    {
        var all = new List<AuditEntry>();
        long? after = null;
        do
        {
            var page = await fixture.Grains.GetGrain<IAuditLogGrain>(tenant).QueryAsync(new AuditQuery(null, null, after, pageSize));
            all.AddRange(page.Entries);
            after = page.NextAfterSequence;
        }
        while (after is not null);

        return all;
    }

    /// <summary>Polls the log until <paramref name="done"/> holds, up to a deadline (the outbox retries with backoff).</summary>
    private async Task<List<AuditEntry>> WaitForAsync(string tenant, Func<List<AuditEntry>, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var entries = await ReadAllAsync(tenant);
            if (done(entries) || DateTime.UtcNow > deadline)
            {
                return entries;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Append_PastSeveralSegments_CursorPagesWalkEveryEntryOnceInOrder()
    {
        var tenant = NewTenantId();
        var log = fixture.Grains.GetGrain<IAuditLogGrain>(tenant);
        var count = (SegmentedList.SegmentSize * 3) + 5;
        for (var i = 0; i < count; i++)
        {
            await log.AppendAsync(new AuditRecord(Owner, "test.append", $"item/{i}", null, null, At: T0.AddMinutes(i)));
        }

        var entries = await ReadAllAsync(tenant, pageSize: 37);

        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), entries.Select(e => e.Sequence));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"item/{i}"), entries.Select(e => e.Target));
        var window = await log.QueryAsync(new AuditQuery(T0.AddMinutes(100), T0.AddMinutes(103), null, 500));
        Assert.Equal([101L, 102L, 103L], window.Entries.Select(e => e.Sequence));
    }

    [Fact]
    public async Task Append_SameEntryIdTwice_IsStoredOnce()
    {
        var tenant = NewTenantId();
        var log = fixture.Grains.GetGrain<IAuditLogGrain>(tenant);
        var record = new AuditRecord(Owner, "test.once", "item/1", null, null, EntryId: "entry-1");

        var first = await log.AppendAsync(record);
        var second = await log.AppendAsync(record);

        Assert.Equal(first, second);
        Assert.Single(await ReadAllAsync(tenant));
    }

    [Fact]
    public async Task Append_LongDetails_AreCutToTheLimit()
    {
        var tenant = NewTenantId();
        await fixture.Grains.GetGrain<IAuditLogGrain>(tenant).AppendAsync(new AuditRecord(Owner, "test.long", "x", null, new string('a', 100_000)));

        var entry = Assert.Single(await ReadAllAsync(tenant));

        Assert.Equal(TextLimits.AuditDetail, entry.After!.Length);
    }

    [Fact]
    public async Task LogStoredAsOneRecord_IsSplitIntoSegmentsOnActivation_AndKeepsItsNumbering()
    {
        var tenant = NewTenantId();
        var log = fixture.Grains.GetGrain<IAuditLogGrain>(tenant);
        var legacy = new AuditLogState
        {
            Entries = [.. Enumerable.Range(1, 150).Select(i => new AuditEntry(i, T0.AddMinutes(i), tenant, "k", tenant, "owner", "old", $"item/{i}", null, null, "r"))],
        };
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(PlatformStorage.Default);
        await storage.WriteStateAsync("audit", log.GetGrainId(), new GrainState<AuditLogState>(legacy));

        var next = await log.AppendAsync(new AuditRecord(Owner, "new", "item/151", null, null));
        var entries = await ReadAllAsync(tenant, pageSize: 40);
        var tail = await log.QueryAsync(new AuditQuery(null, null, 140, 500));

        Assert.Equal(151, next);
        Assert.Equal(Enumerable.Range(1, 151).Select(i => (long)i), entries.Select(e => e.Sequence));
        Assert.Equal(Enumerable.Range(141, 11).Select(i => (long)i), tail.Entries.Select(e => e.Sequence));
        Assert.Equal(
            Enumerable.Range(1, 150).Select(i => $"item/{i}"),
            (await SegmentedList.Segment<AuditEntry>(fixture.Grains, "audit/" + tenant, 0).GetAsync())
                .Concat(await SegmentedList.Segment<AuditEntry>(fixture.Grains, "audit/" + tenant, 1).GetAsync())
                .Concat(entries.Skip(128).Take(22)).Select(e => e.Target));
    }

    [Fact]
    public async Task AuditWriteFails_TheVersionIsSaved_AndAfterRecoveryExactlyOneEntryArrives()
    {
        var tenant = NewTenantId();
        var prompt = fixture.Grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, "faulty"));
        CreateVersionResult created;
        using (FaultyGrainStorage.Arm<AuditLogState>(tenant, FaultyGrainStorage.Mode.FailBeforeWrite))
        {
            // The change's own write succeeds: the caller is told so, though the log cannot be written.
            created = await prompt.CreateVersionAsync(Content("v1"), "first", Owner);
            Assert.Empty(await ReadAllAsync(tenant));

            // The grain goes away with the record undelivered: it is in the grain's stored state, not only in memory.
            await fixture.Cluster.DeactivateAsync(prompt);
        }

        Assert.True(created.Created);
        Assert.Single((await prompt.GetAsync())!.Versions);
        var entries = await WaitForAsync(tenant, e => e.Count > 0, TimeSpan.FromSeconds(20));
        var entry = Assert.Single(entries, e => e.Action == "prompt.version.create");
        Assert.Equal("prompt/faulty@1", entry.Target);
    }

    [Fact]
    public async Task AuditAcknowledgementLost_TheRetryIsRecognised_AndOneEntryIsStored()
    {
        var tenant = NewTenantId();
        var prompt = fixture.Grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, "lost-ack"));
        using (FaultyGrainStorage.Arm<AuditLogState>(tenant, FaultyGrainStorage.Mode.FailAfterWrite))
        {
            // Stored in the log, but the prompt grain is told the append failed, so it will send the record again.
            await prompt.CreateVersionAsync(Content("v1"), "first", Owner);
        }

        // Records are delivered in order: once version 2's entry is in, version 1's retry is done.
        await prompt.CreateVersionAsync(Content("v2"), "second", Owner);
        var entries = await WaitForAsync(tenant, e => e.Any(x => x.Target == "prompt/lost-ack@2"), TimeSpan.FromSeconds(20));

        Assert.Equal(["prompt/lost-ack@1", "prompt/lost-ack@2"], entries.Select(e => e.Target));
    }

    [Fact]
    public async Task TenantChange_WithTheLogDown_IsSaved_AndItsEntryArrivesOnce()
    {
        var tenant = NewTenantId();
        var grain = fixture.Grains.GetGrain<ITenantGrain>(tenant);
        using (FaultyGrainStorage.Arm<AuditLogState>(tenant, FaultyGrainStorage.Mode.FailBeforeWrite))
        {
            await grain.CreateAsync(new TenantSettings("Before"), Owner);
            await grain.UpdateAsync(new TenantSettings("After"), Owner);
        }

        Assert.Equal("After", (await grain.GetAsync())!.Settings.DisplayName);
        var entries = await WaitForAsync(tenant, e => e.Count >= 2, TimeSpan.FromSeconds(20));
        Assert.Equal(["tenant.create", "tenant.update"], entries.Select(e => e.Action));
    }

    [Fact]
    public async Task KeyRevocation_WithTheTenantsOutboxUnwritable_IsAnsweredAsDone_AndItsEntryArrivesOnce()
    {
        var tenant = NewTenantId();
        var grain = fixture.Grains.GetGrain<ITenantGrain>(tenant);
        await grain.CreateAsync(new TenantSettings("Revoking"), Owner);
        var key = await grain.CreateKeyAsync(new NewApiKey("k", Role.Developer, null), Owner);

        ApiKeyInfo revoked;
        using (FaultyGrainStorage.Arm<TenantGrainState>(tenant, FaultyGrainStorage.Mode.FailBeforeWrite))
        {
            // The revocation is saved in the key directory; only the tenant's own write (its outbox) fails.
            revoked = await grain.RevokeKeyAsync(key.Key.Id, Owner);
        }

        Assert.NotNull(revoked.RevokedAt);
        var again = await grain.RevokeKeyAsync(key.Key.Id, Owner);
        Assert.Equal(revoked.RevokedAt, again.RevokedAt);
        var entries = await WaitForAsync(tenant, e => e.Any(x => x.Action == "key.revoke"), TimeSpan.FromSeconds(20));
        Assert.Single(entries, e => e.Action == "key.revoke");
    }
}
