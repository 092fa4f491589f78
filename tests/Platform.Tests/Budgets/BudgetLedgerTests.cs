using Platform.Budgets;

namespace Platform.Tests.Budgets;

public sealed class BudgetLedgerTests
{
    private const string HolderA = "silo-a";
    private const string HolderB = "silo-b";
    private const int Seconds = 30;

    private static readonly DateTimeOffset T0 = new(2027, 3, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly SpendDimensions Dims = new("key1", "dep", "model", null);

    private static BudgetLedger NewLedger(params BudgetLimit[] limits) => NewLedger(new BudgetPolicy(limits));

    private static BudgetLedger NewLedger(BudgetPolicy policy)
    {
        var ledger = new BudgetLedger(new BudgetLedgerState());
        ledger.SetPolicy(policy);
        return ledger;
    }

    private static BudgetAmount Usd(decimal usd) => new(usd, 0, 1);

    private static ReserveResult Reserve(BudgetLedger ledger, string id, BudgetAmount worstCase, DateTimeOffset now, string holder = HolderA)
    {
        ledger.Heard(holder, now);
        return ledger.Reserve(new ReserveOperation(id, worstCase, Dims), holder, Seconds, now);
    }

    private static (BudgetAmount? Charged, IReadOnlyList<BudgetAlert> Alerts) Settle(
        BudgetLedger ledger, string id, BudgetAmount? usage, DateTimeOffset now) =>
        ledger.Settle(new SettleOperation(id, usage, Dims), null, now);

    /// <summary>Reserves and settles one request costing <paramref name="usage"/> exactly (its worst case).</summary>
    private static IReadOnlyList<BudgetAlert> Spend(BudgetLedger ledger, BudgetAmount usage, DateTimeOffset now)
    {
        var id = Guid.NewGuid().ToString("N");
        Assert.True(Reserve(ledger, id, usage, now).Granted, "the spend under test was refused");
        return Settle(ledger, id, usage, now).Alerts;
    }

    private static LimitStatus Window(BudgetLedger ledger, DateTimeOffset now, int limit = 0) => ledger.Windows(ledger.State.Policy, now)[limit];

    [Fact]
    public void Reserve_OfAnIdReleasedBeforeItArrived_IsRefused_AndHoldsNothing()
    {
        // A silo whose reserve call failed releases the id; if the reserve reached the grain late, it must not be held for good.
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));
        Settle(ledger, "lost", null, T0);

        var late = Reserve(ledger, "lost", Usd(0.5m), T0);

        Assert.False(late.Granted);
        Assert.Equal(0m, Window(ledger, T0).Reserved);
        Assert.Empty(ledger.State.Reservations);
    }

    [Fact]
    public void SetPolicy_MidWindow_StartsCountingThen_SoTheFirstWindowCarriesNothingHoweverLateItIsRead()
    {
        var limit = new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Month, Rollover: true);
        var ledger = new BudgetLedger(new BudgetLedgerState());
        ledger.SetPolicy(new BudgetPolicy([limit]), T0);

        // First read in the next month: the month the policy was set in was its first, its unused 10 carry over.
        var next = new DateTimeOffset(2027, 4, 2, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(20m, Window(ledger, next).Allowance);
    }

    [Fact]
    public void Settle_RepeatedByItsHolderAfterARestartOfTheGrain_IsChargedOnce_WithoutStoringSettledIds()
    {
        var state = new BudgetLedgerState();
        var ledger = new BudgetLedger(state);
        ledger.SetPolicy(new BudgetPolicy([new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day)]));
        Assert.True(Reserve(ledger, "r1", Usd(0.5m), T0).Granted);
        var settle = new SettleOperation("r1", Usd(0.4m), Dims, Sequence: 7);
        ledger.Settle(settle, null, T0, HolderA);

        // The grain is reactivated from what it stored; the holder, whose answer was lost, sends the same batch again.
        var reloaded = new BudgetLedger(state);
        var (charged, _) = reloaded.Settle(settle, null, T0, HolderA);

        Assert.Null(charged);
        Assert.Equal(0.4m, state.SettledUsd);
        Assert.DoesNotContain("r1", state.RecentlyExpired);
    }

    [Fact]
    public void Reserve_WithinLimit_IsGranted_AndHeldUntilSettled()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));

        var result = Reserve(ledger, "r1", Usd(0.6m), T0);

        Assert.True(result.Granted);
        Assert.Null(result.Reason);
        var window = Window(ledger, T0);
        Assert.Equal(0.6m, window.Reserved);
        Assert.Equal(0m, window.Used);
        Assert.Equal(0.4m, window.Remaining);
        Assert.Equal(0.4m, Assert.Single(result.Headroom).Remaining);
    }

    [Fact]
    public void Reserve_WhenOverLimit_IsRefused()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));
        Spend(ledger, Usd(0.7m), T0);

        var result = Reserve(ledger, "r2", Usd(0.31m), T0);

        Assert.False(result.Granted);
        Assert.False(result.NeverFits);
        Assert.Equal(BudgetMetric.Usd, result.RefusedMetric);
        Assert.Contains("$1.00 per day", result.Reason, StringComparison.Ordinal);
        Assert.Contains("$0.70 spent", result.Reason, StringComparison.Ordinal);
        Assert.Equal(0m, Window(ledger, T0).Reserved);
        Assert.True(Reserve(ledger, "r3", Usd(0.3m), T0).Granted, "what is left still fits");
    }

    [Fact]
    public void Reserve_WhenOverTheTokenLimit_IsRefusedOnTokens()
    {
        var ledger = NewLedger(
            new BudgetLimit(BudgetMetric.Usd, 100, BudgetWindow.Day),
            new BudgetLimit(BudgetMetric.Tokens, 1000, BudgetWindow.Minute));

        Assert.True(Reserve(ledger, "r1", new BudgetAmount(0.01m, 600, 1), T0).Granted);
        var refused = Reserve(ledger, "r2", new BudgetAmount(0.01m, 401, 1), T0);
        var fits = Reserve(ledger, "r3", new BudgetAmount(0.01m, 400, 1), T0);

        Assert.False(refused.Granted);
        Assert.Equal(BudgetMetric.Tokens, refused.RefusedMetric);
        Assert.Contains("1000 tokens per minute", refused.Reason, StringComparison.Ordinal);
        Assert.Contains("600 held by requests in flight", refused.Reason, StringComparison.Ordinal);
        Assert.True(fits.Granted);
    }

    [Fact]
    public void Reserve_WhenOverTheRequestLimit_IsRefusedOnRequests()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Requests, 3, BudgetWindow.Minute));

        var results = Enumerable.Range(0, 4).Select(i => Reserve(ledger, $"r{i}", new BudgetAmount(0, 10, 1), T0)).ToList();

        Assert.Equal([true, true, true, false], results.Select(r => r.Granted));
        Assert.Equal(BudgetMetric.Requests, results[3].RefusedMetric);
        Assert.Contains("3 requests per minute", results[3].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Reserve_WhenOnlyRequestsInFlightStandInTheWay_SaysRetryInASecond_ElseAtTheWindowsEnd()
    {
        var limit = new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Hour);
        var ledger = NewLedger(limit);
        var now = T0.AddMinutes(20);
        Assert.True(Reserve(ledger, "held", Usd(0.8m), now).Granted);

        var inFlight = Reserve(ledger, "r1", Usd(0.5m), now);
        Settle(ledger, "held", Usd(0.8m), now);
        var spent = Reserve(ledger, "r2", Usd(0.5m), now);

        Assert.False(inFlight.Granted);
        Assert.Equal(1, inFlight.RetryAfterSeconds);
        Assert.False(spent.Granted);
        Assert.Equal(40 * 60, spent.RetryAfterSeconds);
    }

    [Fact]
    public void Reserve_TheSameIdTwice_HoldsItOnce()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));

        Assert.True(Reserve(ledger, "r1", Usd(0.6m), T0).Granted);
        Assert.True(Reserve(ledger, "r1", Usd(0.6m), T0).Granted);

        Assert.Equal(0.6m, ledger.Reserved.Usd);
        Assert.Single(ledger.State.Reservations);
    }

    [Fact]
    public void Reserve_ManyBeforeAnySettle_GrantsOnlyWhatTheLimitPaysFor_AndSettledSpendStaysWithinIt()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1.5m, BudgetWindow.Day));

        var results = Enumerable.Range(0, 100).Select(i => Reserve(ledger, $"r{i}", Usd(0.03m), T0)).ToList();
        foreach (var granted in results.Where(r => r.Granted))
        {
            Settle(ledger, granted.ReservationId, Usd(0.03m), T0);
        }

        Assert.Equal(50, results.Count(r => r.Granted));
        Assert.Equal(1.5m, ledger.State.SettledUsd);
        Assert.Equal(1.5m, Window(ledger, T0).Used);
        Assert.Equal(0m, ledger.Reserved.Usd);
        Assert.False(Reserve(ledger, "late", Usd(0.01m), T0).Granted);
    }

    [Fact]
    public void Reserve_InterleavedWithSettlesAndReleases_NeverLetsSpendPlusReservedExceedAnyLimit()
    {
        var ledger = NewLedger(
            new BudgetLimit(BudgetMetric.Usd, 2, BudgetWindow.Day),
            new BudgetLimit(BudgetMetric.Tokens, 50_000, BudgetWindow.Day),
            new BudgetLimit(BudgetMetric.Requests, 400, BudgetWindow.Day));
        var random = new Random(11);
        var open = new List<(string Id, BudgetAmount WorstCase)>();
        var charged = new BudgetAmount(0, 0, 0);
        var granted = 0;

        for (var step = 0; step < 5000; step++)
        {
            var now = T0.AddMilliseconds(step);
            if (open.Count == 0 || random.Next(3) > 0)
            {
                var worst = new BudgetAmount(random.Next(1, 40) / 1000m, random.Next(10, 400), 1);
                var id = $"r{step}";
                if (Reserve(ledger, id, worst, now).Granted)
                {
                    open.Add((id, worst));
                    granted++;
                }
            }
            else
            {
                var (id, worst) = open[random.Next(open.Count)];
                open.RemoveAll(o => o.Id == id);
                BudgetAmount? usage = random.Next(4) switch
                {
                    0 => null,
                    1 => worst,
                    _ => new BudgetAmount(worst.Usd * random.Next(0, 100) / 100m, worst.Tokens * random.Next(0, 100) / 100, 1),
                };
                if (Settle(ledger, id, usage, now).Charged is { } c)
                {
                    charged = new BudgetAmount(charged.Usd + c.Usd, charged.Tokens + c.Tokens, charged.Requests + c.Requests);
                }
            }

            foreach (var window in ledger.Windows(ledger.State.Policy, now))
            {
                Assert.True(
                    window.Used + window.Reserved <= window.Allowance,
                    $"step {step}: {window.Limit.Metric} {window.Used} + {window.Reserved} > {window.Allowance}");
            }
        }

        foreach (var (id, worst) in open)
        {
            Settle(ledger, id, worst, T0.AddSeconds(10));
            charged = new BudgetAmount(charged.Usd + worst.Usd, charged.Tokens + worst.Tokens, charged.Requests + worst.Requests);
        }

        Assert.True(granted > 100, "the sequence should have granted many requests");
        Assert.True(ledger.State.SettledUsd <= 2m);
        Assert.True(ledger.State.SettledTokens <= 50_000);
        Assert.True(ledger.State.SettledRequests <= 400);
        Assert.Equal(charged.Usd, ledger.State.SettledUsd);
        Assert.Equal(charged.Tokens, ledger.State.SettledTokens);
        Assert.Empty(ledger.State.Reservations);
        Assert.Equal(default, ledger.Reserved);
    }

    [Fact]
    public void Settle_BelowTheWorstCase_ReleasesTheDifference()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));
        Reserve(ledger, "r1", Usd(0.8m), T0);

        var (charged, _) = Settle(ledger, "r1", Usd(0.3m), T0);

        Assert.Equal(0.3m, charged?.Usd);
        Assert.Equal(0.3m, Window(ledger, T0).Used);
        Assert.Equal(0m, Window(ledger, T0).Reserved);
        Assert.True(Reserve(ledger, "r2", Usd(0.7m), T0).Granted);
    }

    [Fact]
    public void Settle_WithNoUsage_ReleasesEverythingAndChargesNothing()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));
        Reserve(ledger, "r1", Usd(1m), T0);

        var (charged, alerts) = Settle(ledger, "r1", null, T0);

        Assert.Null(charged);
        Assert.Empty(alerts);
        Assert.Equal(0m, Window(ledger, T0).Used);
        Assert.Equal(0m, ledger.State.SettledUsd);
        Assert.Equal(0, ledger.State.SettledRequests);
        Assert.True(Reserve(ledger, "r2", Usd(1m), T0).Granted);
    }

    [Fact]
    public void Settle_RepeatedForTheSameId_IsChargedOnce()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));
        Reserve(ledger, "r1", Usd(0.5m), T0);

        var first = Settle(ledger, "r1", Usd(0.4m), T0).Charged;
        var second = Settle(ledger, "r1", Usd(0.4m), T0).Charged;

        Assert.Equal(0.4m, first?.Usd);
        Assert.Null(second);
        Assert.Equal(0.4m, Window(ledger, T0).Used);
        Assert.Equal(0.4m, ledger.State.SettledUsd);
        Assert.Equal(1, ledger.State.SettledRequests);
    }

    [Fact]
    public void Settle_AfterTheReservationExpired_IsNotChargedAgain()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));
        Reserve(ledger, "r1", Usd(0.5m), T0);
        var late = T0.AddSeconds(Seconds);
        Assert.Single(ledger.Expire(null, late));

        var (charged, _) = Settle(ledger, "r1", Usd(0.2m), late);

        Assert.Null(charged);
        Assert.Equal(0.5m, Window(ledger, late).Used);
        Assert.Equal(0.5m, ledger.State.SettledUsd);
    }

    [Fact]
    public void Expire_ChargesTheWorstCase_OnlyOnceTheHolderWasSilentForItsSeconds()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));
        Reserve(ledger, "r1", Usd(0.5m), T0);

        var early = ledger.Expire(null, T0.AddSeconds(Seconds).AddTicks(-1));
        var onTime = ledger.Expire(null, T0.AddSeconds(Seconds));

        Assert.Empty(early);
        Assert.Equal("r1", Assert.Single(onTime).Reservation.Id);
        Assert.Equal(0.5m, Window(ledger, T0.AddSeconds(Seconds)).Used);
        Assert.Equal(0m, ledger.Reserved.Usd);
        Assert.Equal(1, ledger.State.ExpiredCount);
        Assert.Null(ledger.NextExpiry());
    }

    [Fact]
    public void Heard_RenewsTheHoldersReservations()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));
        Reserve(ledger, "r1", Usd(0.5m), T0);

        ledger.Heard(HolderA, T0.AddSeconds(25));

        Assert.Equal(T0.AddSeconds(25 + Seconds), ledger.NextExpiry());
        Assert.Empty(ledger.Expire(null, T0.AddSeconds(Seconds + 20)));
        Assert.Single(ledger.Expire(null, T0.AddSeconds(25 + Seconds)));
    }

    [Fact]
    public void Expire_OfOneHoldersReservations_DoesNotExpireAnotherHoldersReservationsMadeInTheSameTurn()
    {
        // Silo A died holding a reservation; silo B (nothing in flight) is heard, A's reservation expires, then B reserves.
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Day));
        Reserve(ledger, "a1", Usd(1m), T0, HolderA);
        var now = T0.AddSeconds(Seconds);
        ledger.Heard(HolderB, now);
        Assert.Single(ledger.Expire(null, now));

        Assert.True(ledger.Reserve(new ReserveOperation("b1", Usd(1m), Dims), HolderB, Seconds, now).Granted);

        Assert.Equal(now.AddSeconds(Seconds), ledger.NextExpiry());
        Assert.Empty(ledger.Expire(null, now.AddSeconds(1)));
        Assert.Equal(1m, Window(ledger, now.AddSeconds(1)).Used);
        Assert.Equal(1m, Window(ledger, now.AddSeconds(1)).Reserved);
    }

    [Fact]
    public void Ledger_RebuiltFromItsState_KeepsReservationsAndSpend()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));
        Spend(ledger, Usd(0.25m), T0);
        Reserve(ledger, "r1", Usd(0.5m), T0);

        var rebuilt = new BudgetLedger(ledger.State);

        Assert.Equal(0.5m, rebuilt.Reserved.Usd);
        Assert.Equal(0.25m, Window(rebuilt, T0).Used);
        Assert.False(Reserve(rebuilt, "r2", Usd(0.26m), T0).Granted);
        Assert.Equal(0.5m, Settle(rebuilt, "r1", Usd(0.5m), T0).Charged?.Usd);
        Assert.Equal(0m, rebuilt.Reserved.Usd);
    }

    [Fact]
    public void Window_AtAMonthEnd_RollsOver_SoSpendOfJanuary31DoesNotCountOnFebruary1()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Month));
        var lastMinuteOfJanuary = new DateTimeOffset(2027, 1, 31, 23, 59, 0, TimeSpan.Zero);
        var february = new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero);
        Spend(ledger, Usd(10m), lastMinuteOfJanuary);

        var refused = Reserve(ledger, "jan", Usd(1m), lastMinuteOfJanuary.AddSeconds(59));
        var granted = Reserve(ledger, "feb", Usd(10m), february);

        Assert.False(refused.Granted);
        Assert.Equal(1, refused.RetryAfterSeconds);
        Assert.True(granted.Granted);
        Assert.Equal(0m, Window(ledger, february).Used);
        Assert.Equal(february, Window(ledger, february).WindowStart);
        Assert.Equal(10m, ledger.State.SettledUsd);
    }

    [Fact]
    public void Window_WhenTheClockStepsBackAcrossABoundary_KeepsTheSpendOfTheLaterWindow()
    {
        // A grain reactivated on a silo whose clock is a little behind must not see an emptied window.
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Minute));
        var afterBoundary = T0.AddMinutes(1).AddMilliseconds(10);
        Spend(ledger, Usd(1m), afterBoundary);

        var behind = Reserve(ledger, "r1", Usd(0.5m), afterBoundary.AddMilliseconds(-20));
        var again = Reserve(ledger, "r2", Usd(0.5m), afterBoundary.AddMilliseconds(5));

        Assert.False(behind.Granted);
        Assert.False(again.Granted);
        Assert.Equal(1m, Window(ledger, afterBoundary).Used);
    }

    [Fact]
    public void Rollover_CarriesTheUnusedAmount_CappedAtOneWindow_AndNothingIntoTheFirstWindow()
    {
        var limit = new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Day, Rollover: true);
        var ledger = NewLedger(limit);
        var day1 = T0;

        var first = Window(ledger, day1).Allowance;
        Spend(ledger, Usd(4m), day1);
        var second = Window(ledger, day1.AddDays(1)).Allowance;
        var third = Window(ledger, day1.AddDays(2)).Allowance;
        Spend(ledger, Usd(19m), day1.AddDays(2));
        var fourth = Window(ledger, day1.AddDays(3)).Allowance;

        Assert.Equal(10m, first);
        Assert.Equal(16m, second);
        Assert.Equal(20m, third);
        Assert.Equal(11m, fourth);
    }

    [Fact]
    public void Rollover_AfterWindowsWithNoRequests_CarriesOneWindowsAmount()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Day, Rollover: true));
        Spend(ledger, Usd(10m), T0);

        var later = Window(ledger, T0.AddDays(5));

        Assert.Equal(20m, later.Allowance);
        Assert.True(Reserve(ledger, "big", Usd(20m), T0.AddDays(5)).Granted);
    }

    [Fact]
    public void Rollover_WithoutIt_TheNextWindowHasJustTheAmount()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Day));
        Spend(ledger, Usd(1m), T0);

        Assert.Equal(10m, Window(ledger, T0.AddDays(1)).Allowance);
        Assert.False(Reserve(ledger, "big", Usd(10.01m), T0.AddDays(1)).Granted);
    }

    [Fact]
    public void Rolling_UsageLeavesTheWindow_OneWindowLengthAfterItsSlot()
    {
        var limit = new BudgetLimit(BudgetMetric.Tokens, 100, BudgetWindow.Hour, Rolling: true);
        var ledger = NewLedger(limit);
        Spend(ledger, new BudgetAmount(0, 60, 1), T0);
        Spend(ledger, new BudgetAmount(0, 30, 1), T0.AddMinutes(10));

        var slots = ledger.State.Counters[limit.CounterKey].Slots.Select(s => s.Amount).ToList();
        var refused = Reserve(ledger, "r1", new BudgetAmount(0, 20, 1), T0.AddMinutes(30));
        var stillIn = Window(ledger, T0.AddMinutes(60).AddTicks(-1)).Used;
        var afterFirstLeft = Window(ledger, T0.AddMinutes(60)).Used;
        var granted = Reserve(ledger, "r2", new BudgetAmount(0, 70, 1), T0.AddMinutes(60));
        var afterBothLeft = Window(ledger, T0.AddMinutes(70)).Used;

        Assert.Equal([60m, 30m], slots);
        Assert.False(refused.Granted);
        Assert.Equal(30 * 60, refused.RetryAfterSeconds);
        Assert.Equal(90m, stillIn);
        Assert.Equal(30m, afterFirstLeft);
        Assert.True(granted.Granted);
        Assert.Equal(0m, afterBothLeft);
        Assert.Empty(ledger.State.Counters[limit.CounterKey].Slots);
    }

    [Fact]
    public void Rolling_Headroom_ResetsWhenTheNewestSlotLeaves()
    {
        var limit = new BudgetLimit(BudgetMetric.Tokens, 100, BudgetWindow.Hour, Rolling: true);
        var ledger = NewLedger(limit);
        Spend(ledger, new BudgetAmount(0, 60, 1), T0);
        Spend(ledger, new BudgetAmount(0, 30, 1), T0.AddMinutes(10).AddSeconds(15));

        var headroom = Assert.Single(ledger.Headroom(ledger.State.Policy, T0.AddMinutes(30)));

        Assert.Equal(BudgetMetric.Tokens, headroom.Metric);
        Assert.Equal(10m, headroom.Remaining);
        Assert.Equal(40 * 60, headroom.ResetSeconds);
    }

    [Fact]
    public void Headroom_OfACalendarWindow_ResetsAtTheWindowsEnd_AndShowsTheTighterLimitOfAMetric()
    {
        var ledger = NewLedger(
            new BudgetLimit(BudgetMetric.Usd, 100, BudgetWindow.Month),
            new BudgetLimit(BudgetMetric.Usd, 2, BudgetWindow.Hour),
            new BudgetLimit(BudgetMetric.Requests, 10, BudgetWindow.Minute));
        var now = T0.AddMinutes(34).AddSeconds(30);
        Spend(ledger, Usd(1.5m), now);

        var headroom = ledger.Headroom(ledger.State.Policy, now);

        var usd = Assert.Single(headroom, h => h.Metric == BudgetMetric.Usd);
        Assert.Equal(2m, usd.Limit);
        Assert.Equal(0.5m, usd.Remaining);
        Assert.Equal((25 * 60) + 30, usd.ResetSeconds);
        var requests = Assert.Single(headroom, h => h.Metric == BudgetMetric.Requests);
        Assert.Equal(9m, requests.Remaining);
        Assert.Equal(30, requests.ResetSeconds);
    }

    [Fact]
    public void SetPolicy_LoweredBelowTheSpend_RefusesAtOnce_ButKeepsTheSpend()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Day));
        Spend(ledger, Usd(6m), T0);

        ledger.SetPolicy(new BudgetPolicy([new BudgetLimit(BudgetMetric.Usd, 5, BudgetWindow.Day)]));
        var lowered = Reserve(ledger, "r1", Usd(0.01m), T0);
        var windowWhenLowered = Window(ledger, T0);
        ledger.SetPolicy(new BudgetPolicy([new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Day)]));
        var raised = Reserve(ledger, "r2", Usd(4m), T0);
        var tooMuch = Reserve(ledger, "r3", Usd(0.01m), T0);

        Assert.False(lowered.Granted);
        Assert.Equal(6m, windowWhenLowered.Used);
        Assert.Equal(0m, windowWhenLowered.Remaining);
        Assert.True(raised.Granted);
        Assert.False(tooMuch.Granted);
        Assert.Equal(6m, ledger.State.SettledUsd);
    }

    [Fact]
    public void SetPolicy_DropsTheCountersOfLimitsItNoLongerHas()
    {
        var day = new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Day);
        var ledger = NewLedger(day, new BudgetLimit(BudgetMetric.Tokens, 1000, BudgetWindow.Day));
        Spend(ledger, new BudgetAmount(6m, 600, 1), T0);

        ledger.SetPolicy(new BudgetPolicy([day]));
        ledger.SetPolicy(new BudgetPolicy([day, new BudgetLimit(BudgetMetric.Tokens, 1000, BudgetWindow.Day)]));

        Assert.Equal(6m, Window(ledger, T0, 0).Used);
        Assert.Equal(0m, Window(ledger, T0, 1).Used);
    }

    [Fact]
    public void Reset_ZeroesTheSpend_AndKeepsReservationsInFlight()
    {
        var ledger = NewLedger(
            new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Day),
            new BudgetLimit(BudgetMetric.Tokens, 100, BudgetWindow.Hour, Rolling: true));
        Spend(ledger, new BudgetAmount(8m, 80, 1), T0);
        Reserve(ledger, "held", new BudgetAmount(1m, 10, 1), T0);

        ledger.Reset();

        Assert.Equal(0m, Window(ledger, T0, 0).Used);
        Assert.Equal(0m, Window(ledger, T0, 1).Used);
        Assert.Equal(1m, Window(ledger, T0, 0).Reserved);
        Assert.True(Reserve(ledger, "r1", new BudgetAmount(9m, 90, 1), T0).Granted);
    }

    [Fact]
    public void Alerts_FireOncePerThresholdPerWindow_AndAgainInTheNextWindow()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 100, BudgetWindow.Day));

        var at49 = Spend(ledger, Usd(49m), T0);
        var at50 = Spend(ledger, Usd(1m), T0);
        var at60 = Spend(ledger, Usd(10m), T0);
        var at100 = Spend(ledger, Usd(40m), T0);
        var nextDayAt60 = Spend(ledger, Usd(60m), T0.AddDays(1));
        var nextDayAt79 = Spend(ledger, Usd(19m), T0.AddDays(1));

        Assert.Empty(at49);
        Assert.Equal([50], at50.Select(a => a.Threshold));
        Assert.Empty(at60);
        Assert.Equal([80, 100], at100.Select(a => a.Threshold));
        Assert.Equal(100m, at100[^1].Used);
        Assert.Equal([50], nextDayAt60.Select(a => a.Threshold));
        Assert.Empty(nextDayAt79);
    }

    [Fact]
    public void Alerts_UseThePolicysThresholds()
    {
        var ledger = NewLedger(new BudgetPolicy([new BudgetLimit(BudgetMetric.Tokens, 1000, BudgetWindow.Day)], [90, 10]));

        var at10 = Spend(ledger, new BudgetAmount(0, 100, 1), T0);
        var at95 = Spend(ledger, new BudgetAmount(0, 850, 1), T0);
        var at100 = Spend(ledger, new BudgetAmount(0, 50, 1), T0);

        Assert.Equal([10], at10.Select(a => a.Threshold));
        Assert.Equal([90], at95.Select(a => a.Threshold));
        Assert.Empty(at100);
    }

    [Fact]
    public void Alerts_FromAnExpiredReservation_AreReported()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));
        Reserve(ledger, "r1", Usd(0.5m), T0);

        var (_, alerts) = Assert.Single(ledger.Expire(null, T0.AddSeconds(Seconds)));

        Assert.Equal([50], alerts.Select(a => a.Threshold));
    }

    [Fact]
    public void Reserve_MoreThanTheWholeLimit_NeverFits()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day));

        var result = Reserve(ledger, "r1", Usd(1.01m), T0);

        Assert.False(result.Granted);
        Assert.True(result.NeverFits);
        Assert.Equal(0, result.RetryAfterSeconds);
        Assert.Contains("more than the whole budget", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Reserve_MoreThanOneWindowButWithinTwo_OfARolloverLimit_IsNotNeverFits()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day, Rollover: true));

        var result = Reserve(ledger, "r1", Usd(1.5m), T0);

        Assert.False(result.Granted);
        Assert.False(result.NeverFits);
        Assert.True(result.RetryAfterSeconds > 0);
    }

    [Fact]
    public void Reserve_AgainstARequestLimitOfZero_NeverFits_AndSaysRequests()
    {
        var ledger = NewLedger(new BudgetLimit(BudgetMetric.Requests, 0, BudgetWindow.Minute));

        var result = Reserve(ledger, "r1", new BudgetAmount(0.01m, 100, 1), T0);

        Assert.True(result.NeverFits);
        Assert.Contains("1 request", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("tokens", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Reserve_WithNoPolicy_IsGranted_AndTheDefaultPolicyAppliesWhenTheScopeHasNone()
    {
        var ledger = new BudgetLedger(new BudgetLedgerState());
        var fallback = new BudgetPolicy([new BudgetLimit(BudgetMetric.Requests, 1, BudgetWindow.Minute)]);
        ledger.Heard(HolderA, T0);

        var free = ledger.Reserve(new ReserveOperation("r0", Usd(5m), Dims), HolderA, Seconds, T0);
        var first = ledger.Reserve(new ReserveOperation("r1", Usd(0.1m), Dims, fallback), HolderA, Seconds, T0);
        var second = ledger.Reserve(new ReserveOperation("r2", Usd(0.1m), Dims, fallback), HolderA, Seconds, T0);

        Assert.True(free.Granted);
        Assert.Empty(free.Headroom);
        Assert.False(first.Granted, "r0 is in flight, so the default's one request per minute is taken");
        Assert.False(second.Granted);
        ledger.Settle(new SettleOperation("r0", null, Dims), fallback, T0);
        Assert.True(ledger.Reserve(new ReserveOperation("r3", Usd(0.1m), Dims, fallback), HolderA, Seconds, T0).Granted);
    }
}
