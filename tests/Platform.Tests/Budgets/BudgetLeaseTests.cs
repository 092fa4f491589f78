using Platform.Budgets;

namespace Platform.Tests.Budgets;

/// <summary>The ledger's side of leases: slices granted, grown, shrunk, charged, asked back and expired.</summary>
public sealed class BudgetLeaseTests
{
    private const string HolderA = "silo-a";
    private const string HolderB = "silo-b";
    private const int Seconds = 30;

    private static readonly DateTimeOffset T0 = new(2027, 3, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly SpendDimensions Dims = new("key1", "dep", "model", null);

    private static BudgetLedger NewLedger(params BudgetLimit[] limits)
    {
        var ledger = new BudgetLedger(new BudgetLedgerState());
        ledger.SetPolicy(new BudgetPolicy(limits));
        return ledger;
    }

    private static BudgetAmount Requests(int n) => new(0, 0, n);

    private static LeaseOperation Sync(string lease, long sequence, BudgetAmount hold, params BudgetAmount[] charges) =>
        new(lease, [.. charges.Select(c => new LeaseCharge(Dims, c))], hold, sequence);

    private static LimitStatus Window(BudgetLedger ledger, DateTimeOffset now) => ledger.Windows(ledger.State.Policy, now)[0];

    private static readonly BudgetLimit HundredRequests = new(BudgetMetric.Requests, 100, BudgetWindow.Day);

    [Fact]
    public void Lease_IsGrantedUpToHalfOfWhatIsLeft_AndCountsAsReserved()
    {
        var ledger = NewLedger(HundredRequests);

        var (held, reclaim, _) = ledger.Lease(Sync("l1", 1, Requests(50)), HolderA, Seconds, T0);
        Assert.Equal(Requests(50), held);
        Assert.False(reclaim);
        Assert.Equal(50m, Window(ledger, T0).Reserved);

        // A second silo asking for more than the half of what is left (50 free, so at most 25 leased in all) gets nothing.
        var (second, _, _) = ledger.Lease(Sync("l2", 1, Requests(1)), HolderB, Seconds, T0);
        Assert.Equal(default, second);
        Assert.False(ledger.State.Reservations.ContainsKey("l2"));
    }

    [Fact]
    public void Lease_ChargesComeOutOfTheSlice_AndASyncRepeatedAfterItsAnswerWasLost_IsAppliedOnce()
    {
        var ledger = NewLedger(HundredRequests);
        ledger.Lease(Sync("l1", 1, Requests(20)), HolderA, Seconds, T0);

        var sync = Sync("l1", 2, Requests(20), Requests(8));
        var (held, _, charged) = ledger.Lease(sync, HolderA, Seconds, T0);
        var (again, _, chargedAgain) = ledger.Lease(sync, HolderA, Seconds, T0);

        Assert.Equal(Requests(20), held);
        Assert.Single(charged);
        Assert.Equal(held, again);
        Assert.Empty(chargedAgain);
        Assert.Equal(8m, Window(ledger, T0).Used);
        Assert.Equal(20m, Window(ledger, T0).Reserved);
        Assert.Equal(8, ledger.State.SettledRequests);
    }

    [Fact]
    public void Lease_ShrinksOnRequest_AndEndsAtZero_AfterWhichItsRepeatChargesNothing()
    {
        var ledger = NewLedger(HundredRequests);
        ledger.Lease(Sync("l1", 1, Requests(20)), HolderA, Seconds, T0);

        var (shrunk, _, _) = ledger.Lease(Sync("l1", 2, Requests(5), Requests(3)), HolderA, Seconds, T0);
        Assert.Equal(Requests(5), shrunk);

        var last = Sync("l1", 3, default, Requests(5));
        var (ended, _, _) = ledger.Lease(last, HolderA, Seconds, T0);
        var (repeat, _, charged) = ledger.Lease(last, HolderA, Seconds, T0);

        Assert.Equal(default, ended);
        Assert.Equal(default, repeat);
        Assert.Empty(charged);
        Assert.Empty(ledger.State.Reservations);
        Assert.Equal(8m, Window(ledger, T0).Used);
        Assert.Equal(0m, Window(ledger, T0).Reserved);
    }

    [Fact]
    public void Lease_AskingForMoreThanItsShare_DoesNotGrow_ButKeepsWhatItHeld()
    {
        var ledger = NewLedger(HundredRequests);
        ledger.Lease(Sync("l1", 1, Requests(40)), HolderA, Seconds, T0);
        var (after, _, _) = ledger.Lease(Sync("l1", 2, Requests(20), Requests(40)), HolderA, Seconds, T0); // 40 used, 60 free
        Assert.Equal(Requests(20), after);

        var (held, reclaim, _) = ledger.Lease(Sync("l1", 3, Requests(45)), HolderA, Seconds, T0); // 45 > half of 60

        Assert.Equal(Requests(20), held);
        Assert.False(reclaim);
        Assert.Equal(20m, Window(ledger, T0).Reserved);
    }

    [Fact]
    public void Lease_HoldingMoreThanHalfOfWhatIsLeft_AfterSpendElsewhere_IsAskedBack()
    {
        var ledger = NewLedger(HundredRequests);
        ledger.Lease(Sync("l1", 1, Requests(40)), HolderA, Seconds, T0);
        for (var i = 0; i < 30; i++)
        {
            ledger.Heard(HolderB, T0);
            Assert.True(ledger.Reserve(new ReserveOperation($"r{i}", Requests(1), Dims), HolderB, Seconds, T0).Granted);
            ledger.Settle(new SettleOperation($"r{i}", Requests(1), Dims), null, T0);
        }

        var (held, reclaim, _) = ledger.Lease(Sync("l1", 2, Requests(40)), HolderA, Seconds, T0); // 40 leased of 70 free

        Assert.Equal(Requests(40), held);
        Assert.True(reclaim);
    }

    [Fact]
    public void Reserve_RefusedOnlyBecauseOfLeases_SaysSo_AndAsksLeasesBackForAWhile()
    {
        var ledger = NewLedger(HundredRequests);
        ledger.Lease(Sync("l1", 1, Requests(50)), HolderA, Seconds, T0);
        for (var i = 0; i < 50; i++)
        {
            ledger.Heard(HolderB, T0);
            Assert.True(ledger.Reserve(new ReserveOperation($"r{i}", Requests(1), Dims), HolderB, Seconds, T0).Granted);
        }

        var refused = ledger.Reserve(new ReserveOperation("r50", Requests(1), Dims), HolderB, Seconds, T0);
        Assert.False(refused.Granted);
        Assert.True(refused.LeasesHeld);

        // The lease is asked back, and cannot grow until the reclaim is over.
        var (held, reclaim, _) = ledger.Lease(Sync("l1", 2, Requests(60)), HolderA, Seconds, T0.AddMilliseconds(100));
        Assert.True(reclaim);
        Assert.Equal(Requests(50), held);
        var (_, later, _) = ledger.Lease(Sync("l1", 3, Requests(10)), HolderA, Seconds, T0 + BudgetLedger.ReclaimFor + TimeSpan.FromSeconds(1));
        Assert.False(later);
    }

    [Fact]
    public void Reserve_RefusedWithNoLeaseInTheWay_DoesNotBlameLeases()
    {
        var ledger = NewLedger(HundredRequests);
        ledger.Lease(Sync("l1", 1, Requests(10)), HolderA, Seconds, T0);
        ledger.Lease(Sync("l1", 2, Requests(10), Requests(95)), HolderA, Seconds, T0); // an overrun: 95 used, slice spent

        var refused = ledger.Reserve(new ReserveOperation("r", Requests(10), Dims), HolderB, Seconds, T0);

        Assert.False(refused.Granted);
        Assert.False(refused.LeasesHeld);
    }

    [Fact]
    public void Lease_OfASiloThatWentSilent_ExpiresAndIsChargedInFull_AndItsLateSyncChargesNothingMore()
    {
        var ledger = NewLedger(HundredRequests);
        ledger.Lease(Sync("l1", 1, Requests(20)), HolderA, Seconds, T0);

        var expired = ledger.Expire(null, T0.AddSeconds(Seconds + 1));

        Assert.Single(expired);
        Assert.Equal(20m, Window(ledger, T0.AddSeconds(Seconds + 1)).Used);
        Assert.Equal(BudgetLedger.LeaseDimensions, expired[0].Reservation.Dimensions);
        var (held, _, charged) = ledger.Lease(Sync("l1", 2, Requests(20), Requests(7)), HolderA, Seconds, T0.AddSeconds(Seconds + 2));
        Assert.Equal(default, held);
        Assert.Empty(charged);
        Assert.Equal(20m, Window(ledger, T0.AddSeconds(Seconds + 2)).Used);
    }

    [Fact]
    public void Lease_ExpiredAndForgottenAmongManyClosedIds_ItsLateSyncIsNotChargedAgain()
    {
        var ledger = NewLedger(HundredRequests);
        ledger.Lease(Sync("l1", 1, Requests(20)), HolderA, Seconds, T0);
        var later = T0.AddSeconds(Seconds + 1);
        ledger.Expire(null, later);

        // Releases of reservations the ledger never granted (a failed batch's) are remembered too, in a bounded list.
        for (var i = 0; i <= BudgetLedger.RecentlyClosedCapacity; i++)
        {
            ledger.Settle(new SettleOperation($"lost{i}", null, Dims), null, later);
        }

        // The silo comes back and syncs the lease it still holds: its slice was charged in full when it expired.
        var (held, _, charged) = ledger.Lease(Sync("l1", 2, Requests(20), Requests(7)), HolderA, Seconds, later);

        Assert.Equal(default, held);
        Assert.Empty(charged);
        Assert.Equal(20m, Window(ledger, later).Used);
        Assert.Equal(0m, Window(ledger, later).Reserved);
    }

    [Fact]
    public void Settle_NamingALeaseId_IsIgnored()
    {
        var ledger = NewLedger(HundredRequests);
        ledger.Lease(Sync("l1", 1, Requests(20)), HolderA, Seconds, T0);

        var (charged, _) = ledger.Settle(new SettleOperation("l1", Requests(1), Dims), null, T0);

        Assert.Null(charged);
        Assert.Equal(20m, Window(ledger, T0).Reserved);
        Assert.Equal(0m, Window(ledger, T0).Used);
    }

    [Fact]
    public void Leases_SurviveAReload_WithTheirTotals()
    {
        var ledger = NewLedger(HundredRequests);
        ledger.Lease(Sync("l1", 1, Requests(20)), HolderA, Seconds, T0);

        var reloaded = new BudgetLedger(ledger.State);

        Assert.Equal(Requests(20), reloaded.Leased);
        Assert.Equal(20m, reloaded.Windows(reloaded.State.Policy, T0)[0].Reserved);
    }

    [Fact]
    public void Lease_SyncFromAnotherHolder_CannotTouchIt()
    {
        var ledger = NewLedger(HundredRequests);
        ledger.Lease(Sync("l1", 1, Requests(20)), HolderA, Seconds, T0);

        var (held, _, charged) = ledger.Lease(Sync("l1", 2, default, Requests(20)), HolderB, Seconds, T0);

        Assert.Equal(default, held);
        Assert.Empty(charged);
        Assert.Equal(20m, Window(ledger, T0).Reserved);
        Assert.Equal(0m, Window(ledger, T0).Used);
    }

    [Fact]
    public void Reserve_BlockedOnlyByTheLeaseOfASilentHolder_DoesNotAskForARetry()
    {
        // A silo killed while holding a slice cannot return it: a refusal it causes is final until the slice expires.
        var ledger = NewLedger(HundredRequests);
        ledger.Lease(Sync("l1", 1, Requests(50)), HolderA, Seconds, T0);
        var later = T0 + BudgetLedger.LeaseHolderSilence + TimeSpan.FromSeconds(1);
        for (var i = 0; i < 50; i++)
        {
            ledger.Heard(HolderB, later);
            Assert.True(ledger.Reserve(new ReserveOperation($"r{i}", Requests(1), Dims), HolderB, Seconds, later).Granted);
        }

        var refused = ledger.Reserve(new ReserveOperation("r50", Requests(1), Dims), HolderB, Seconds, later);

        Assert.False(refused.Granted);
        Assert.False(refused.LeasesHeld);
    }
}
