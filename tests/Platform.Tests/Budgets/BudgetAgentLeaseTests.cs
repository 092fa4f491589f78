using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Platform.Budgets;
using Platform.Silo.Gateway;
using Platform.Silo.Hosting;
using Platform.Tenants;

namespace Platform.Tests.Budgets;

/// <summary>The silo's side of leases (<see cref="BudgetAgent"/>) against real budget grains, on a clock the test moves.</summary>
[Collection(ClusterCollection.Name)]
public sealed class BudgetAgentLeaseTests(ClusterFixture fixture)
{
    private static readonly Actor Admin = new("key_admin", TenantIds.System, Role.Admin, "req-test");
    private static readonly SpendDimensions Dims = new("k1", null, "model", null);
    private static readonly BudgetAmount Worst = new(0.01m, 100, 1);

    private static readonly BudgetLimit Usd = new(BudgetMetric.Usd, 1000m, BudgetWindow.Day);

    private static string NewTenantId() => "t" + Guid.NewGuid().ToString("N")[..12];

    private static BudgetAgent NewAgent(IGrainFactory grains, ManualClock clock) =>
        new(grains, Options.Create(new PlatformOptions()), clock, NullLogger<BudgetAgent>.Instance);

    /// <summary>Reserves on the grain through the agent until it starts a lease, then waits until the lease admits a request.</summary>
    private static async Task StartLeaseAsync(BudgetAgent agent, string key)
    {
        for (var i = 0; i < BudgetAgent.LeaseAfterReservations; i++)
        {
            var result = await agent.ReserveAsync(key, new ReserveOperation($"r{i}", Worst, Dims));
            Assert.True(result.Granted);
            agent.ConsiderLease(key, Worst, result.Headroom);
            agent.Settle(key, new SettleOperation($"r{i}", Worst, Dims));
        }

        var ticket = await UntilAsync(() => agent.TryLease(key, Worst));
        agent.Finish(ticket, null, Dims);
    }

    private static async Task<T> UntilAsync<T>(Func<T?> read, Func<T, bool>? holds = null)
        where T : class
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            if (read() is { } value && (holds is null || holds(value)))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }

    private static async Task<BudgetStatus> StatusUntilAsync(IBudgetGrain grain, ManualClock clock, Func<BudgetStatus, bool> holds)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var status = await grain.GetStatusAsync();
            if (holds(status))
            {
                return status;
            }

            Assert.True(DateTime.UtcNow < deadline, "timed out");
            clock.Advance(BudgetAgent.LeaseSyncPeriod);
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Lease_WhenALimitOnAnotherMetricIsAddedWhileItIsHeld_NeverAdmitsPastThatLimit()
    {
        var tenant = NewTenantId();
        var key = BudgetKeys.Of(tenant, BudgetScope.Key, "k1");
        var grain = fixture.Grains.GetGrain<IBudgetGrain>(key);
        await grain.SetPolicyAsync(new BudgetPolicy([Usd]), Admin);
        var clock = new ManualClock();
        await using var agent = NewAgent(fixture.Grains, clock);
        await StartLeaseAsync(agent, key);

        // A limit of 10 requests is added while the lease (sized in dollars only) is held.
        await grain.SetPolicyAsync(new BudgetPolicy([Usd, new BudgetLimit(BudgetMetric.Requests, 10, BudgetWindow.Day)]), Admin);
        var used = (await grain.GetStatusAsync()).Windows.Single(w => w.Limit.Metric == BudgetMetric.Requests).Used;

        // The next sync tells the silo about it; until its answer the slice was granted under the old policy.
        clock.Advance(BudgetAgent.LeaseSyncPeriod);
        var tickets = new List<LeaseTicket>();
        await UntilAsync<object>(() =>
        {
            if (agent.TryLease(key, Worst) is not { } ticket)
            {
                return "refused";
            }

            if (ticket.Headroom.Any(h => h.Metric == BudgetMetric.Requests))
            {
                tickets.Add(ticket);
                return "answered";
            }

            agent.Finish(ticket, null, Dims);
            return null;
        });

        // From then on the slice must hold the new limit, however many requests come.
        for (var i = 0; i < 50 && agent.TryLease(key, Worst) is { } ticket; i++)
        {
            tickets.Add(ticket);
        }

        foreach (var ticket in tickets)
        {
            agent.Finish(ticket, Worst, Dims);
        }

        clock.Advance(TimeSpan.FromSeconds(2));
        var status = await StatusUntilAsync(grain, clock, s => s.Leases == 0);
        var requests = status.Windows.Single(w => w.Limit.Metric == BudgetMetric.Requests);
        Assert.True(used + tickets.Count <= 10, $"{tickets.Count} requests admitted from the lease after {used} of a limit of 10");
        Assert.True(requests.Used <= requests.Allowance, $"{requests.Used} requests charged against a limit of {requests.Allowance}");
    }

    [Fact]
    public async Task SpendSummedForTheReport_IsNotCountedAsAReservationReturned_SoRenewalsStillSeeTheRequestsInFlight()
    {
        var tenant = NewTenantId();
        var key = BudgetKeys.Tenant(tenant);
        var grain = fixture.Grains.GetGrain<IBudgetGrain>(key);
        var clock = new ManualClock();
        await using var agent = NewAgent(fixture.Grains, clock);

        // Unlimited spend goes to the tenant's grain summed once a second; it settles no reservation of this silo.
        agent.Record(key, Dims, new BudgetAmount(0.01m, 10, 1));
        agent.Record(key, Dims, new BudgetAmount(0.01m, 10, 1));
        clock.Advance(BudgetAgent.SpendFlushPeriod);
        await StatusUntilAsync(grain, clock, s => s.SettledRequests == 2);

        // Then the tenant gets a limit and a request reserves: this silo holds one reservation and must renew it.
        await grain.SetPolicyAsync(new BudgetPolicy([Usd]), Admin);
        Assert.True((await agent.ReserveAsync(key, new ReserveOperation("long", Worst, Dims))).Granted);

        Assert.Equal(1, agent.OutstandingOn(key));
    }
}

/// <summary>A clock the test moves; timers (one-shot or periodic) fire when it passes their due time.</summary>
internal sealed class ManualClock : TimeProvider
{
    private readonly List<Timer> _timers = [];
    private long _ticks = DateTimeOffset.UtcNow.UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new Timer(this, callback, state);
        lock (_timers)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        Interlocked.Add(ref _ticks, by.Ticks);
        List<Timer> due;
        lock (_timers)
        {
            due = [.. _timers.Where(t => t.Due is { } at && at <= GetTimestamp())];
        }

        foreach (var timer in due)
        {
            timer.Fire();
        }
    }

    private sealed class Timer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public long? Due { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            _period = period;
            Due = dueTime == Timeout.InfiniteTimeSpan ? null : clock.GetTimestamp() + dueTime.Ticks;
            return true;
        }

        public void Fire()
        {
            Due = _period == Timeout.InfiniteTimeSpan || _period == TimeSpan.Zero ? null : clock.GetTimestamp() + _period.Ticks;
            callback(state);
        }

        public void Dispose() => Due = null;

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
