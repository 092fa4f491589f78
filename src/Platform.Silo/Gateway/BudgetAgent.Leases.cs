using Platform.Budgets;

namespace Platform.Silo.Gateway;

/// <summary>A request admitted from this silo's lease on one scope; <see cref="BudgetAgent.Finish"/> must follow once.</summary>
public sealed class LeaseTicket
{
    internal LeaseTicket(object lane, object lease, BudgetAmount worstCase, IReadOnlyList<BudgetHeadroom> headroom)
    {
        Lane = lane;
        Lease = lease;
        WorstCase = worstCase;
        Headroom = headroom;
    }

    internal object Lane { get; }

    internal object Lease { get; }

    internal BudgetAmount WorstCase { get; }

    /// <summary>The scope's headroom as this silo saw it at its lease's last sync (the grain's answer plus the unused slice).</summary>
    public IReadOnlyList<BudgetHeadroom> Headroom { get; }
}

/// <summary>
/// Leases. When a scope is busy (a few reservations within one sync period) and far from its limits, this silo asks the
/// scope's grain for a slice of its budget and admits requests from it itself: a request then costs a lock and some
/// arithmetic instead of two grain calls. Every <see cref="LeaseSyncPeriod"/> the silo sends the grain what the slice's
/// finished requests really cost (charged to the windows and the report) and the slice it wants next: the worst cases of
/// its requests in flight plus 0.4 s of demand at its recent rate, at most a sixteenth of what is left. The grain shrinks
/// a slice on request and grows it only while leases together hold at most half of what is left, so the limit holds
/// exactly: a request is admitted from a slice only if the slice covers its worst case, and slices are reserved on the
/// grain like requests are. Near a limit, or when a request elsewhere was refused while slices were held, the grain asks
/// leases back: the silo stops admitting from its slice and shrinks it to what is in flight, and the refused request is
/// retried once the slices are back. A lease ends after a second without demand. If this silo dies, the grain charges the
/// slice in full when it expires (never less than was spent).
/// </summary>
public sealed partial class BudgetAgent
{
    /// <summary>How often a silo syncs each of its leases with the scope's grain.</summary>
    public static readonly TimeSpan LeaseSyncPeriod = TimeSpan.FromMilliseconds(100);

    /// <summary>Reservations on one scope within a sync period that make it busy enough for a lease.</summary>
    public const int LeaseAfterReservations = 4;

    /// <summary>A lease starts only if what is left of each limit is at least this many worst cases of the request that starts it.</summary>
    public const int LeaseFarFromLimit = 64;

    /// <summary>A slice is at most this fraction of what is left of a limit (before the grain's own cap).</summary>
    private const decimal SliceOfRemaining = 1m / 16;

    private static readonly TimeSpan LeaseIdleEnd = TimeSpan.FromSeconds(1);

    /// <summary>A slice covers this many seconds of demand (four sync periods).</summary>
    private const decimal SlackSeconds = 0.4m;

    /// <summary>How much of the highest demand rate seen is kept at each sync when demand falls.</summary>
    private const decimal RateDecay = 0.8m;

    /// <summary>How long after a lease was asked back none is started again on that scope (the grain asks for two seconds).</summary>
    private static readonly TimeSpan ReclaimBackoff = TimeSpan.FromSeconds(2);

    private readonly ITimer? _leaseTicks;

    private bool LeasesEnabled { get; }

    /// <summary>True when this silo holds a lease on the scope that is admitting requests.</summary>
    public bool IsLeasing(string grainKey)
    {
        if (!_lanes.TryGetValue(grainKey, out var lane))
        {
            return false;
        }

        lock (lane)
        {
            return lane.Lease is { Reclaim: false, Dead: false };
        }
    }

    /// <summary>
    /// Admits a request of <paramref name="worstCase"/> from this silo's lease on the scope, if it holds one that covers it;
    /// null otherwise (the request is then reserved on the grain).
    /// </summary>
    public LeaseTicket? TryLease(string grainKey, BudgetAmount worstCase)
    {
        if (!_lanes.TryGetValue(grainKey, out var lane))
        {
            return null;
        }

        var kick = false;
        LeaseTicket? ticket = null;
        lock (lane)
        {
            if (lane.Lease is not { Reclaim: false, Dead: false } lease)
            {
                return null;
            }

            lease.Demand += worstCase;
            lease.LastWorst = worstCase;
            lease.LastDemand = _time.GetTimestamp();
            var used = lease.Pending + lease.InFlight + worstCase;
            if (Covers(lease, lease.Cap, used))
            {
                lease.InFlight += worstCase;
                ticket = new LeaseTicket(lane, lease, worstCase, lease.SeenHeadroom);
            }
            else if (!lane.SyncRequested)
            {
                // The slice is too small for the demand: sync now rather than at the next period.
                lane.SyncRequested = true;
                kick = !lane.Running;
                lane.Running |= kick;
            }
        }

        if (kick)
        {
            _ = RunAsync(lane);
        }

        return ticket;
    }

    /// <summary>Ends a leased request: its real usage (null: nothing was spent) is charged at the lease's next sync.</summary>
    public void Finish(LeaseTicket ticket, BudgetAmount? usage, SpendDimensions dimensions)
    {
        var lane = (Lane)ticket.Lane;
        var lease = (LeaseState)ticket.Lease;
        lock (lane)
        {
            lease.InFlight -= ticket.WorstCase;
            if (usage is { } amount)
            {
                lease.Pending += amount;
                var key = lane.IsTenant ? dimensions : SpendDimensions.None;
                lease.Charges[key] = lease.Charges.TryGetValue(key, out var sum) ? sum + amount : amount;
            }
        }
    }

    /// <summary>
    /// Called after the grain granted a reservation on the scope: starts a lease when the scope is busy and far from every
    /// limit (user scopes are never leased).
    /// </summary>
    public void ConsiderLease(string grainKey, BudgetAmount worstCase, IReadOnlyList<BudgetHeadroom> headroom)
    {
        if (!LeasesEnabled || _leasesEnded || headroom.Count == 0 || !_lanes.TryGetValue(grainKey, out var lane) || lane.Scope == BudgetScope.User)
        {
            return;
        }

        lock (lane)
        {
            lane.ReservesThisPeriod++;
            if (lane.Lease is not null || lane.ReservesThisPeriod < LeaseAfterReservations || _time.GetTimestamp() < lane.LeaseBackoffUntil)
            {
                return;
            }

            foreach (var h in headroom)
            {
                if (h.Remaining < LeaseFarFromLimit * worstCase.Of(h.Metric))
                {
                    return;
                }
            }

            lane.Lease = new LeaseState(Guid.NewGuid().ToString("N"))
            {
                Metrics = [.. headroom.Select(h => h.Metric).Distinct()],
                Headroom = headroom,
                LastWorst = worstCase,
                Demand = new BudgetAmount(worstCase.Usd * lane.ReservesThisPeriod, worstCase.Tokens * lane.ReservesThisPeriod, lane.ReservesThisPeriod),
                LastDemand = _time.GetTimestamp(),
                LastSync = _time.GetTimestamp() - (_time.TimestampFrequency / 10),
            };
            lane.SyncRequested = true;
            if (lane.Running)
            {
                return;
            }

            lane.Running = true;
        }

        _ = RunAsync(lane);
    }

    /// <summary>Every sync period: each lease syncs; the busy counts start again.</summary>
    private void LeaseTick()
    {
        foreach (var (_, lane) in _lanes)
        {
            var start = false;
            lock (lane)
            {
                lane.ReservesThisPeriod = 0;
                if (lane.Lease is not null)
                {
                    lane.SyncRequested = true;
                    start = !lane.Running;
                    lane.Running = true;
                }
            }

            if (start)
            {
                _ = RunAsync(lane);
            }
        }
    }

    /// <summary>Under the lane's lock: the lease's sync to send now (a new one, or the one whose answer was lost), or null.</summary>
    private LeaseOperation? TakeLeaseSync(Lane lane)
    {
        if (lane.Lease is not { } lease || !(lane.SyncRequested || lease.Sending is not null))
        {
            return null;
        }

        lane.SyncRequested = false;
        if (lease.Sending is null)
        {
            var charges = lease.Charges.Select(c => new LeaseCharge(c.Key, c.Value)).ToList();
            var sent = lease.Pending;
            lease.Charges = [];
            lease.Pending = default;
            var hold = WantedHold(lease);

            // Until the answer, the grain holds either the new slice or the old one less what was charged: admit within both.
            lease.Cap = BudgetAmount.Min(hold, (lease.Held - sent).NonNegative());
            lease.Sending = new LeaseOperation(lease.Id, charges, hold, ++lease.Sequence);
            lease.Demand = default;
        }

        return lease.Sending;
    }

    /// <summary>The slice to ask for: what is in flight, plus 0.4 s of demand at its recent rate unless the lease is winding down.</summary>
    private BudgetAmount WantedHold(LeaseState lease)
    {
        if (lease.Reclaim || lease.Dead || _time.GetElapsedTime(lease.LastDemand) > LeaseIdleEnd)
        {
            return lease.InFlight;
        }

        // Demand per second, measured since the last sync and decaying slowly: a sync soon after another (its slice ran
        // short) must not read the few requests since then as the whole demand and shrink the slice further.
        var now = _time.GetTimestamp();
        var seconds = Math.Max(0.01m, (decimal)_time.GetElapsedTime(lease.LastSync, now).TotalSeconds);
        lease.LastSync = now;
        var slack = default(BudgetAmount);
        foreach (var metric in lease.Metrics)
        {
            var rate = lease.Rate[(int)metric] = Math.Max(lease.Demand.Of(metric) / seconds, lease.Rate[(int)metric] * RateDecay);
            var want = Math.Max(rate * SlackSeconds, 8 * lease.LastWorst.Of(metric));
            var remaining = lease.Headroom.Where(h => h.Metric == metric).Select(h => h.Remaining).DefaultIfEmpty(0).Min() + lease.Held.Of(metric);
            var most = remaining * SliceOfRemaining;
            if (most < lease.LastWorst.Of(metric))
            {
                // Too near the limit for a slice to serve even one request: wind the lease down.
                return lease.InFlight;
            }

            want = Math.Min(want, most);
            slack = metric switch
            {
                BudgetMetric.Usd => slack with { Usd = Math.Round(want, 8, MidpointRounding.ToZero) },
                BudgetMetric.Tokens => slack with { Tokens = (long)want },
                _ => slack with { Requests = (int)Math.Min(want, int.MaxValue) },
            };
        }

        return lease.InFlight + slack;
    }

    /// <summary>Under the lane's lock: the grain's answer to the lease's sync.</summary>
    private void LeaseAnswered(Lane lane, LeaseResult result)
    {
        if (lane.Lease is not { } lease || lease.Id != result.LeaseId)
        {
            return;
        }

        lease.Sending = null;
        lease.Held = result.Held;
        lease.Cap = result.Held;
        lease.Reclaim = result.Reclaim;
        if (result.Headroom.Count > 0)
        {
            lease.Headroom = result.Headroom;

            // The scope's limits may have changed since the lease started (a limit on another metric added): the slice must
            // cover every metric now limited, or requests admitted from it would pass the new limit unchecked.
            lease.Metrics = [.. result.Headroom.Select(h => h.Metric).Distinct()];
        }

        // What callers are told is left: the grain's figure (which counts this slice as held) plus the slice's unused part.
        lease.SeenHeadroom = Headroom(lease, lease.Cap - lease.Pending - lease.InFlight);

        if (result.Held == default)
        {
            if (lease.InFlight == default && lease.Pending == default)
            {
                lane.Lease = null;
                lane.LeaseBackoffUntil = _time.GetTimestamp() + (long)((result.Reclaim ? ReclaimBackoff : LeaseIdleEnd).TotalSeconds * _time.TimestampFrequency);
            }
            else
            {
                // The grain no longer holds it (it expired): what is in flight finishes, then it is dropped.
                lease.Dead = true;
            }
        }
    }

    private static bool Covers(LeaseState lease, BudgetAmount cap, BudgetAmount used)
    {
        foreach (var metric in lease.Metrics)
        {
            if (used.Of(metric) > cap.Of(metric))
            {
                return false;
            }
        }

        return true;
    }

    private static List<BudgetHeadroom> Headroom(LeaseState lease, BudgetAmount free)
    {
        var list = new List<BudgetHeadroom>(lease.Headroom.Count);
        foreach (var h in lease.Headroom)
        {
            list.Add(h with { Remaining = h.Remaining + Math.Max(0, free.Of(h.Metric)) });
        }

        return list;
    }

    /// <summary>How long a stopping silo waits for its leases to be returned before it goes on stopping (then they expire).</summary>
    private static readonly TimeSpan ReturnLeasesFor = TimeSpan.FromSeconds(5);

    private volatile bool _leasesEnded;

    /// <summary>
    /// Returns every lease as the host stops (after the web server drained its requests, before the silo stops): each
    /// sends its last charges and asks for nothing, so its unused slice is not charged in full when it would expire.
    /// Waits for the grains' answers, at most <see cref="ReturnLeasesFor"/>.
    /// </summary>
    public async Task ReturnLeasesAsync(CancellationToken cancellation)
    {
        if (_leaseTicks is null)
        {
            return;
        }

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        bounded.CancelAfter(ReturnLeasesFor);
        try
        {
            while (true)
            {
                EndLeases();
                LeaseTick();
                if (_lanes.Values.All(lane => { lock (lane) { return lane.Lease is null; } }))
                {
                    return;
                }

                await Task.Delay(LeaseSyncPeriod, _time, bounded.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Left to expire: charged in full, never less than was spent.
        }
    }

    /// <summary>Asks every lease back (the silo is stopping): each shrinks to what is in flight at its next sync.</summary>
    private void EndLeases()
    {
        _leasesEnded = true;
        foreach (var (_, lane) in _lanes)
        {
            lock (lane)
            {
                if (lane.Lease is { } lease)
                {
                    lease.Reclaim = true;
                    lane.SyncRequested = true;
                }
            }
        }
    }

    /// <summary>This silo's lease on one scope. Guarded by its lane's lock.</summary>
    private sealed class LeaseState(string id)
    {
        public readonly string Id = id;
        public long Sequence;

        /// <summary>The slice the grain holds, as it last answered.</summary>
        public BudgetAmount Held;

        /// <summary>What <see cref="Pending"/> plus <see cref="InFlight"/> may reach now.</summary>
        public BudgetAmount Cap;

        /// <summary>The worst cases of the requests admitted from the slice that have not finished.</summary>
        public BudgetAmount InFlight;

        /// <summary>The real usage of finished requests, not yet sent; by dimensions in <see cref="Charges"/>.</summary>
        public BudgetAmount Pending;

        public Dictionary<SpendDimensions, BudgetAmount> Charges = [];

        /// <summary>The sync in flight (or whose answer was lost, to repeat as it is).</summary>
        public LeaseOperation? Sending;

        /// <summary>The worst cases asked of the lease since the last sync.</summary>
        public BudgetAmount Demand;

        public BudgetAmount LastWorst;
        public long LastDemand;
        public long LastSync;

        /// <summary>Demand per second, per metric (indexed by <see cref="BudgetMetric"/>).</summary>
        public readonly decimal[] Rate = new decimal[3];
        public bool Reclaim;
        public bool Dead;
        public IReadOnlyList<BudgetMetric> Metrics = [];
        public IReadOnlyList<BudgetHeadroom> Headroom = [];

        /// <summary>The headroom given with each ticket, as of the last sync (per request it would cost a list).</summary>
        public IReadOnlyList<BudgetHeadroom> SeenHeadroom = [];
    }
}

/// <summary>
/// Returns the silo's budget leases when the host stops. Registered after <c>UseOrleans</c>, it stops before the silo
/// (hosted services stop in reverse order) and after the web server, which stops first; the agent's own disposal comes
/// after the silo has stopped, too late to reach a grain.
/// </summary>
internal sealed class BudgetLeaseReturn(BudgetAgent agent) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => agent.ReturnLeasesAsync(cancellationToken);
}
