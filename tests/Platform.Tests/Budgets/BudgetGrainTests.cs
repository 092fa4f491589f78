using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Platform.Budgets;
using Platform.Hosting;
using Platform.Segments;
using Platform.Tenants;

namespace Platform.Tests.Budgets;

[Collection(ClusterCollection.Name)]
public sealed class BudgetGrainTests(ClusterFixture fixture)
{
    private static readonly Actor Admin = new("key_admin", TenantIds.System, Role.Admin, "req-test");
    private static readonly SpendDimensions Dims = new("key1", "dep", "model", null);

    private static string NewTenantId() => "t" + Guid.NewGuid().ToString("N")[..12];

    private IBudgetGrain Budget(string tenant, BudgetScope scope, string id) =>
        fixture.Grains.GetGrain<IBudgetGrain>(BudgetKeys.Of(tenant, scope, id));

    private IBudgetGrain TenantBudget(string tenant) => fixture.Grains.GetGrain<IBudgetGrain>(BudgetKeys.Tenant(tenant));

    private static BudgetBatch Reserves(string holder, IEnumerable<ReserveOperation> reserves, int seconds = 60) =>
        new(holder, seconds, [], [.. reserves]);

    private static BudgetBatch Settles(string holder, IEnumerable<SettleOperation> settles) => new(holder, 60, [.. settles], []);

    private static ReserveOperation Reserve(string id, decimal usd, SpendDimensions? dimensions = null, BudgetPolicy? defaultPolicy = null) =>
        new(id, new BudgetAmount(usd, 100, 1), dimensions ?? Dims, defaultPolicy);

    private static BudgetPolicy UsdPerDay(decimal amount) => new([new BudgetLimit(BudgetMetric.Usd, amount, BudgetWindow.Day)]);

    [Fact]
    public async Task ApplyAsync_ABatchOf100ReservesAgainstALimitOf50WorstCases_GrantsExactly50()
    {
        var budget = Budget(NewTenantId(), BudgetScope.Key, "k1");
        await budget.SetPolicyAsync(UsdPerDay(50 * 0.02m), Admin);

        var result = await budget.ApplyAsync(Reserves("silo-a", Enumerable.Range(0, 100).Select(i => Reserve($"r{i}", 0.02m))));
        var granted = result.Reserves.Where(r => r.Granted).ToList();
        await budget.ApplyAsync(Settles("silo-a", granted.Select(g => new SettleOperation(g.ReservationId, new BudgetAmount(0.02m, 100, 1), Dims))));
        var status = await budget.GetStatusAsync();

        Assert.Equal(100, result.Reserves.Count);
        Assert.Equal(50, granted.Count);
        Assert.All(result.Reserves.Where(r => !r.Granted), r => Assert.Equal(BudgetMetric.Usd, r.RefusedMetric));
        Assert.Equal(1m, status.SettledUsd);
        Assert.Equal(50, status.SettledRequests);
        Assert.Equal(0, status.OutstandingReservations);
        Assert.Equal(1m, Assert.Single(status.Windows).Used);
    }

    [Fact]
    public async Task ApplyAsync_ConcurrentBatchesFromSeveralHolders_GrantExactlyWhatTheLimitPaysFor()
    {
        var budget = Budget(NewTenantId(), BudgetScope.Deployment, "chat");
        await budget.SetPolicyAsync(new BudgetPolicy([new BudgetLimit(BudgetMetric.Requests, 50, BudgetWindow.Minute)]), Admin);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(h =>
            budget.ApplyAsync(Reserves($"silo-{h}", Enumerable.Range(0, 25).Select(i => Reserve($"h{h}-r{i}", 0.01m))))));

        Assert.Equal(50, results.Sum(r => r.Reserves.Count(x => x.Granted)));
        Assert.Equal(50, (await budget.GetStatusAsync()).OutstandingReservations);
    }

    [Fact]
    public async Task SetPolicyAsync_AndSpend_SurviveDeactivation()
    {
        var budget = Budget(NewTenantId(), BudgetScope.Key, "k1");
        var policy = UsdPerDay(1m);
        await budget.SetPolicyAsync(policy, Admin);
        await budget.ApplyAsync(Reserves("silo-a", [Reserve("r1", 0.4m), Reserve("r2", 0.3m)]));
        await budget.ApplyAsync(Settles("silo-a", [new SettleOperation("r1", new BudgetAmount(0.25m, 10, 1), Dims)]));

        await fixture.Cluster.DeactivateAsync(budget);
        await fixture.Cluster.WaitForDeactivationAsync(budget);
        var status = await budget.GetStatusAsync();

        Assert.Equal(policy.Limits, status.Policy?.Limits);
        Assert.Equal(0.25m, status.SettledUsd);
        Assert.Equal(1, status.OutstandingReservations);
        var window = Assert.Single(status.Windows);
        Assert.Equal(0.25m, window.Used);
        Assert.Equal(0.3m, window.Reserved);
        Assert.False((await budget.ApplyAsync(Reserves("silo-b", [Reserve("r3", 0.46m)]))).Reserves[0].Granted);
        Assert.True((await budget.ApplyAsync(Reserves("silo-b", [Reserve("r4", 0.45m)]))).Reserves[0].Granted);
    }

    [Fact]
    public async Task SetPolicyAsync_WithAnInvalidPolicy_ThrowsNamingTheField_AndKeepsThePolicy()
    {
        var budget = Budget(NewTenantId(), BudgetScope.Key, "k1");
        await budget.SetPolicyAsync(UsdPerDay(5m), Admin);

        var error = await Assert.ThrowsAsync<PlatformException>(() => budget.SetPolicyAsync(
            new BudgetPolicy([new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day), new BudgetLimit(BudgetMetric.Tokens, -1, BudgetWindow.Hour)]),
            Admin));
        var window = await Assert.ThrowsAsync<PlatformException>(() => budget.SetPolicyAsync(
            new BudgetPolicy([new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Custom, WindowSeconds: 0)]), Admin));

        Assert.Equal(ErrorKind.Invalid, error.Kind);
        Assert.Equal("limits[1].amount", error.Field);
        Assert.Equal("limits[0].windowSeconds", window.Field);
        Assert.Equal(5m, Assert.Single((await budget.GetStatusAsync()).Policy!.Limits).Amount);
    }

    [Fact]
    public async Task SetDefaultUserPolicyAsync_WithAnInvalidPolicy_ThrowsNamingTheField_AndKeepsTheIndexVersion()
    {
        var tenant = TenantBudget(NewTenantId());
        var before = await tenant.GetIndexAsync();

        var error = await Assert.ThrowsAsync<PlatformException>(() => tenant.SetDefaultUserPolicyAsync(
            new BudgetPolicy([new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day)], [0]), Admin));

        Assert.Equal("alertThresholds", error.Field);
        Assert.Equal(before.Version, (await tenant.GetIndexAsync()).Version);
    }

    [Fact]
    public async Task IndexVersion_BumpsOnEveryChangeOfWhichScopesHaveLimits_AndNotOnRepeats()
    {
        var tenant = TenantBudget(NewTenantId());
        var v0 = (await tenant.GetIndexAsync()).Version;

        var keyAdded = await tenant.SetIndexedAsync(BudgetScope.Key, "k1", true);
        var keyAddedAgain = await tenant.SetIndexedAsync(BudgetScope.Key, "k1", true);
        var deploymentAdded = await tenant.SetIndexedAsync(BudgetScope.Deployment, "chat", true);
        var userAdded = await tenant.SetIndexedAsync(BudgetScope.User, "alice", true);
        var keyRemoved = await tenant.SetIndexedAsync(BudgetScope.Key, "k1", false);
        var defaultUsers = await tenant.SetDefaultUserPolicyAsync(UsdPerDay(1m), Admin);
        await tenant.SetPolicyAsync(UsdPerDay(10m), Admin);
        var tenantLimited = await tenant.GetIndexAsync();
        await tenant.SetPolicyAsync(UsdPerDay(20m), Admin);
        var tenantChanged = await tenant.GetIndexAsync();
        await tenant.SetPolicyAsync(null, Admin);
        var tenantUnlimited = await tenant.GetIndexAsync();

        Assert.Equal(v0 + 1, keyAdded.Version);
        Assert.Equal(["k1"], keyAdded.Keys);
        Assert.Equal(keyAdded.Version, keyAddedAgain.Version);
        Assert.Equal(v0 + 2, deploymentAdded.Version);
        Assert.Equal(["chat"], deploymentAdded.Deployments);
        Assert.Equal(v0 + 3, userAdded.Version);
        Assert.Equal(["alice"], userAdded.Users);
        Assert.Equal(v0 + 4, keyRemoved.Version);
        Assert.Empty(keyRemoved.Keys);
        Assert.Equal(v0 + 5, defaultUsers.Version);
        Assert.Equal(1m, Assert.Single(defaultUsers.DefaultUserPolicy!.Limits).Amount);
        Assert.Equal(v0 + 6, tenantLimited.Version);
        Assert.True(tenantLimited.TenantHasPolicy);
        Assert.Equal(tenantLimited.Version, tenantChanged.Version);
        Assert.Equal(v0 + 7, tenantUnlimited.Version);
        Assert.False(tenantUnlimited.TenantHasPolicy);
    }

    [Fact]
    public async Task TenantOnlyOperations_OnAnotherScope_AreRefusedNamingTheScope()
    {
        var key = Budget(NewTenantId(), BudgetScope.Key, "k1");

        var error = await Assert.ThrowsAsync<PlatformException>(() => key.SetIndexedAsync(BudgetScope.Key, "k1", true));

        Assert.Equal(ErrorKind.Invalid, error.Kind);
        Assert.Equal("scope", error.Field);
    }

    [Fact]
    public async Task UserScope_WithoutAPolicyOfItsOwn_IsHeldToTheDefaultPolicyItIsSent()
    {
        var user = Budget(NewTenantId(), BudgetScope.User, "new-user");
        var defaults = new BudgetPolicy([new BudgetLimit(BudgetMetric.Requests, 3, BudgetWindow.Minute)]);

        var result = await user.ApplyAsync(
            Reserves("silo-a", Enumerable.Range(0, 10).Select(i => Reserve($"r{i}", 0.01m, defaultPolicy: defaults))));

        Assert.Equal(3, result.Reserves.Count(r => r.Granted));
        Assert.Equal(3m, Assert.Single((await user.GetStatusAsync()).Windows).Reserved);
    }

    [Fact]
    public async Task Reservation_OfAHolderThatGoesSilent_ExpiresAtItsWorstCase()
    {
        var budget = Budget(NewTenantId(), BudgetScope.Key, "k1");
        await budget.SetPolicyAsync(UsdPerDay(1m), Admin);
        await budget.ApplyAsync(Reserves("dead-silo", [Reserve("r1", 0.4m)], seconds: 1));

        var status = await PollAsync(budget.GetStatusAsync, s => s.OutstandingReservations == 0);

        Assert.Equal(1, status.ExpiredReservations);
        Assert.Equal(0.4m, status.SettledUsd);
        Assert.Equal(0.4m, Assert.Single(status.Windows).Used);
        Assert.Equal(0m, status.Reserved.Usd);
    }

    [Fact]
    public async Task ResetAsync_ZeroesTheSpend()
    {
        var budget = Budget(NewTenantId(), BudgetScope.Key, "k1");
        await budget.SetPolicyAsync(UsdPerDay(1m), Admin);
        await budget.ApplyAsync(Reserves("silo-a", [Reserve("r1", 1m)]));
        await budget.ApplyAsync(Settles("silo-a", [new SettleOperation("r1", new BudgetAmount(1m, 10, 1), Dims)]));

        var status = await budget.ResetAsync(Admin);

        Assert.Equal(0m, Assert.Single(status.Windows).Used);
        Assert.True((await budget.ApplyAsync(Reserves("silo-a", [Reserve("r2", 1m)]))).Reserves[0].Granted);
    }

    [Fact]
    public async Task GetRollupsAsync_ReturnsThisHoursSpendPerDimensions_IncludingExpiredWorstCases()
    {
        var tenantId = NewTenantId();
        var tenant = TenantBudget(tenantId);
        var other = new SpendDimensions("key2", null, "model", "bob");
        var from = Hour(DateTimeOffset.UtcNow).AddHours(-1);
        await tenant.ApplyAsync(Reserves("silo-a", [Reserve("r1", 0.5m), Reserve("r2", 0.5m), Reserve("r3", 0.5m, other)]));
        await tenant.ApplyAsync(Settles("silo-a",
        [
            new SettleOperation("r1", new BudgetAmount(0.1m, 10, 1), Dims),
            new SettleOperation("r2", new BudgetAmount(0.2m, 20, 1), Dims),
            new SettleOperation("r3", null, other),
        ]));
        await tenant.ApplyAsync(Reserves("dead-silo", [Reserve("r4", 0.3m, other)], seconds: 1));
        await PollAsync(tenant.GetStatusAsync, s => s.OutstandingReservations == 0);

        var rollups = await tenant.GetRollupsAsync(from, from.AddHours(3));
        var before = await tenant.GetRollupsAsync(from.AddHours(-5), from);

        var mine = Assert.Single(rollups, r => r.Dimensions == Dims);
        Assert.Equal(0.3m, mine.Usd);
        Assert.Equal(30, mine.Tokens);
        Assert.Equal(2, mine.Requests);
        var expired = Assert.Single(rollups, r => r.Dimensions == other);
        Assert.Equal(0.3m, expired.Usd);
        Assert.Equal(1, expired.Requests);
        Assert.Empty(before);
    }

    [Fact]
    public async Task ApplyAsync_ALeaseSyncWhoseWriteFailed_IsRetried_AndItsChargesAreInTheReportOnce()
    {
        var tenantId = NewTenantId();
        var tenant = TenantBudget(tenantId);
        var from = Hour(DateTimeOffset.UtcNow).AddHours(-1);
        await tenant.SetPolicyAsync(UsdPerDay(100m), Admin);
        var slice = new BudgetAmount(1m, 0, 0);
        await tenant.ApplyAsync(new BudgetBatch("silo-a", 60, [], [], new LeaseOperation("l1", [], slice, 1)));
        var sync = new LeaseOperation("l1", [new LeaseCharge(Dims, new BudgetAmount(0.25m, 10, 1))], slice, 2);

        using (FaultyGrainStorage.Arm<BudgetGrainState>(tenantId, FaultyGrainStorage.Mode.FailBeforeWrite))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => tenant.ApplyAsync(new BudgetBatch("silo-a", 60, [], [], sync)));
        }

        // The silo sends the sync again, as it does when a call fails.
        await tenant.ApplyAsync(new BudgetBatch("silo-a", 60, [], [], sync));

        var status = await tenant.GetStatusAsync();
        var rollups = await tenant.GetRollupsAsync(from, from.AddHours(3));
        Assert.Equal(0.25m, status.SettledUsd);
        Assert.Equal(0.25m, Assert.Single(rollups, r => r.Dimensions == Dims).Usd);
    }

    [Fact]
    public async Task ApplyAsync_AWriteThatFails_DoesNotLoseSettlementsAlreadyAnswered()
    {
        // Settle-only batches are answered before they are stored; a later batch whose write fails sends the ledger back
        // to storage, and must not take those settlements with it (their reservations would expire at their worst case).
        var tenantId = NewTenantId();
        var budget = Budget(tenantId, BudgetScope.Key, "k1");
        await budget.SetPolicyAsync(UsdPerDay(10m), Admin);
        await budget.ApplyAsync(Reserves("silo-a", [Reserve("r1", 0.5m), Reserve("r2", 0.5m)]));
        await budget.ApplyAsync(Settles("silo-a", [new SettleOperation("r1", new BudgetAmount(0.2m, 10, 1), Dims, 1)]));

        using (FaultyGrainStorage.Arm<BudgetGrainState>(tenantId, FaultyGrainStorage.Mode.FailBeforeWrite))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => budget.ApplyAsync(Reserves("silo-a", [Reserve("r3", 0.5m)])));
        }

        var status = await budget.GetStatusAsync();
        Assert.Equal(0.2m, status.SettledUsd);
        Assert.Equal(1, status.OutstandingReservations); // r2; r1 stays settled, r3 was never granted
        Assert.Equal(0.2m, status.Windows[0].Used);

        // The next batch stores it with its own.
        await budget.ApplyAsync(Reserves("silo-a", [Reserve("r4", 0.5m)]));
        Assert.Equal(2, (await budget.GetStatusAsync()).OutstandingReservations);
    }

    [Fact]
    public async Task GetRollupsAsync_AfterMoreThan64ClosedHours_SealsASegment_AndReturnsRangesAcrossIt()
    {
        var tenantId = NewTenantId();
        var tenant = TenantBudget(tenantId);
        var now = Hour(DateTimeOffset.UtcNow);
        var first = now.AddHours(-100);
        var stored = new BudgetRollupState
        {
            RollupHead = [.. Enumerable.Range(0, 70).Select(i => new SpendRollup(first.AddHours(i), Dims, i + 1, i, 1))],
            RollupHour = first.AddHours(70),
            CurrentRollups = { ["current"] = new SpendRollup(first.AddHours(70), Dims, 71, 70, 1) },
        };
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(PlatformStorage.Default);
        await storage.WriteStateAsync("budget-rollups", tenant.GetGrainId(), new GrainState<BudgetRollupState>(stored));

        await tenant.ApplyAsync(Reserves("silo-a", [Reserve("r1", 1m)]));
        await tenant.ApplyAsync(Settles("silo-a", [new SettleOperation("r1", new BudgetAmount(72m, 10, 1), Dims)]));
        var all = await tenant.GetRollupsAsync(first, now.AddHours(2));
        var acrossTheSeal = await tenant.GetRollupsAsync(first.AddHours(60), first.AddHours(66));
        var sealedOnly = await tenant.GetRollupsAsync(first.AddHours(10), first.AddHours(12));
        // Sealing happens when the rollups are written, within a second of the change.
        var segment = await PollAsync(() => SegmentedList.Segment<SpendRollup>(fixture.Grains, "budget-rollups/" + tenantId, 0).GetAsync(), s => s.Count > 0);

        Assert.Equal(Enumerable.Range(1, 72).Select(i => (decimal)i), all.Select(r => r.Usd));
        Assert.Equal(Enumerable.Range(60, 6).Select(i => first.AddHours(i)), acrossTheSeal.Select(r => r.Hour));
        Assert.Equal([11m, 12m], sealedOnly.Select(r => r.Usd));
        Assert.Equal(Enumerable.Range(0, SegmentedList.SegmentSize).Select(i => first.AddHours(i)), segment.Select(r => r.Hour));
    }

    private static DateTimeOffset Hour(DateTimeOffset t) => new(t.Year, t.Month, t.Day, t.Hour, 0, 0, TimeSpan.Zero);

    /// <summary>Reads until <paramref name="done"/> holds, up to a deadline (the grain's expiry timer runs on its own).</summary>
    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTimeOffset.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(50); // the poll's interval, bounded by the deadline
        }
    }

    [Fact]
    public async Task AnEndUserUnderTheDefaultLimits_IsForgottenOnceItsWindowsAreOver_NotBefore()
    {
        // Each distinct `user` a client sends is a stored budget; under the tenant's default limits it is dropped once
        // its windows are over, so storage holds the users of one window, not every user ever seen.
        var budget = Budget(NewTenantId(), BudgetScope.User, "u-" + Guid.NewGuid().ToString("N"));
        var perTwoSeconds = new BudgetPolicy([new BudgetLimit(BudgetMetric.Usd, 1m, BudgetWindow.Custom, WindowSeconds: 2)]);
        var granted = await budget.ApplyAsync(Reserves("silo-a", [Reserve("r1", 0.1m, defaultPolicy: perTwoSeconds)]));
        Assert.True(granted.Reserves[0].Granted);
        var remindable = budget.AsReference<IRemindable>();
        var tick = new TickStatus(DateTime.UtcNow, TimeSpan.FromHours(1), DateTime.UtcNow);

        // In flight, or within its window: kept.
        await remindable.ReceiveReminder("forget", tick);
        Assert.Equal(1, (await budget.GetStatusAsync()).OutstandingReservations);
        await budget.ApplyAsync(Settles("silo-a", [new SettleOperation("r1", new BudgetAmount(0.05m, 10, 1), Dims, 1)]));
        await remindable.ReceiveReminder("forget", tick);
        Assert.Equal(0.05m, (await budget.GetStatusAsync()).SettledUsd);

        // Once the window is over (a few seconds: the window is 2 s, forgotten at the next whole second after it), it goes.
        var status = await PollAsync(
            async () =>
            {
                await remindable.ReceiveReminder("forget", tick);
                return await budget.GetStatusAsync();
            },
            s => s.SettledUsd == 0);
        Assert.Equal(0m, status.SettledUsd);
        Assert.DoesNotContain(status.Windows, w => w.Used > 0);
    }

    [Fact]
    public async Task AnEndUserWithLimitsOfItsOwn_IsNeverForgotten()
    {
        var budget = Budget(NewTenantId(), BudgetScope.User, "u-" + Guid.NewGuid().ToString("N"));
        await budget.SetPolicyAsync(new BudgetPolicy([new BudgetLimit(BudgetMetric.Usd, 1m, BudgetWindow.Custom, WindowSeconds: 1)]), Admin);
        await budget.ApplyAsync(Reserves("silo-a", [Reserve("r1", 0.1m)]));
        await budget.ApplyAsync(Settles("silo-a", [new SettleOperation("r1", new BudgetAmount(0.05m, 10, 1), Dims, 1)]));

        await budget.AsReference<IRemindable>().ReceiveReminder("forget", new TickStatus(DateTime.UtcNow, TimeSpan.FromHours(1), DateTime.UtcNow));

        var status = await budget.GetStatusAsync();
        Assert.NotNull(status.Policy);
        Assert.Equal(0.05m, status.SettledUsd);
    }
}
