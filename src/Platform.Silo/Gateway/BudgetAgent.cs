using Platform.Budgets;

namespace Platform.Silo.Gateway;

/// <summary>
/// This silo's link to the budget grains: a group commit per grain. A reservation or settlement is queued; when no call
/// to that grain is in flight it goes at once, otherwise it joins the batch sent when the call in flight returns. At low
/// load that is one call per request and no added wait; at high load one grain turn serves every request that queued
/// meanwhile, so a tenant is not limited by one grain's turn rate, and every reservation is still decided by the grain.
/// Settlements that fail are retried in order until they land; while this silo holds reservations on a grain it renews
/// them every third of their lifetime. Busy scopes are served from leased slices instead (BudgetAgent.Leases.cs).
/// </summary>
public sealed partial class BudgetAgent : IAsyncDisposable
{
    /// <summary>Operations sent in one call at most.</summary>
    public const int MaxBatch = 512;

    /// <summary>How long a failed settlement is retried before it is given up (its reservation has expired and been charged by then).</summary>
    private static readonly TimeSpan SettleRetryLimit = TimeSpan.FromMinutes(15);

    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly ILogger<BudgetAgent> _logger;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private readonly ITimer _renewals;

    public BudgetAgent(IGrainFactory grains, Microsoft.Extensions.Options.IOptions<Hosting.PlatformOptions> options, TimeProvider time, ILogger<BudgetAgent> logger)
    {
        _grains = grains;
        _time = time;
        _logger = logger;
        ReservationSeconds = options.Value.Budgets.ReservationSeconds;
        LeasesEnabled = options.Value.Budgets.Leases;
        if (LeasesEnabled)
        {
            _leaseTicks = time.CreateTimer(static s => ((BudgetAgent)s!).LeaseTick(), this, LeaseSyncPeriod, LeaseSyncPeriod);
        }

        var period = TimeSpan.FromSeconds(ReservationSeconds / 3.0);
        _renewals = time.CreateTimer(static s => ((BudgetAgent)s!).Renew(), this, period, period);
        _flushes = time.CreateTimer(static s => ((BudgetAgent)s!).FlushSpend(), this, SpendFlushPeriod, SpendFlushPeriod);
    }

    /// <summary>How often spend that no limit waits for (the tenant's report rollups) is sent, summed, to its budget grain.</summary>
    public static readonly TimeSpan SpendFlushPeriod = TimeSpan.FromSeconds(1);

    private readonly ITimer _flushes;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Key, SpendDimensions Dimensions), SpendTotal> _spend = new();

    /// <summary>
    /// Adds spend that reserved nothing (a request no limit of this scope applied to) to this silo's running total for
    /// the scope; totals go to the grain once a second as one settlement each, so a request costs a dictionary update
    /// here instead of a grain call. If this silo dies, at most the last second of such spend is not in the report.
    /// </summary>
    public void Record(string grainKey, SpendDimensions dimensions, BudgetAmount usage)
    {
        while (true)
        {
            var total = _spend.GetOrAdd((grainKey, dimensions), static _ => new SpendTotal());
            lock (total)
            {
                if (total.Retired)
                {
                    continue;
                }

                total.Amount += usage;
                return;
            }
        }
    }

    private void FlushSpend()
    {
        foreach (var (key, total) in _spend)
        {
            BudgetAmount amount;
            lock (total)
            {
                amount = total.Amount;
                total.Amount = default;
                if (amount.Requests == 0 && amount.Usd == 0 && amount.Tokens == 0)
                {
                    // Idle for a whole period: forgotten, so distinct users do not accumulate here (a late Record sees it retired).
                    total.Retired = true;
                    _spend.TryRemove(new KeyValuePair<(string, SpendDimensions), SpendTotal>(key, total));
                    continue;
                }
            }

            // Not a reservation's settlement: it must not count against this silo's reservations in flight (renewals follow those).
            Enqueue(key.Key, lane => lane.Settles.Add((new SettleOperation(Guid.NewGuid().ToString("N"), amount, key.Dimensions)
            {
                Sequence = Interlocked.Increment(ref _sequence),
            }, _time.GetUtcNow(), false)));
        }
    }

    private sealed class SpendTotal
    {
        public BudgetAmount Amount;
        public bool Retired;
    }

    /// <summary>Who holds this silo's reservations: unique per process, so a restarted silo is a new holder.</summary>
    public string Holder { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    public int ReservationSeconds { get; }

    /// <summary>This silo's reservations in flight on a scope, as its renewals count them (tests).</summary>
    internal long OutstandingOn(string grainKey) => _lanes.TryGetValue(grainKey, out var lane) ? Volatile.Read(ref lane.Outstanding) : 0;

    /// <summary>Raised with a tenant and the index version its budget grain answered with (so a stale index is noticed).</summary>
    public event Action<string, long>? IndexVersionSeen;

    public Task<ReserveResult> ReserveAsync(string grainKey, ReserveOperation operation)
    {
        var pending = new TaskCompletionSource<ReserveResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(grainKey, lane => lane.Reserves.Add((operation, pending)));
        return pending.Task;
    }

    /// <summary>Queues a settlement (or, with no usage, a release). Never throws; it is retried until it lands.</summary>
    public void Settle(string grainKey, SettleOperation operation) =>
        Enqueue(grainKey, lane => lane.Settles.Add((operation with { Sequence = Interlocked.Increment(ref _sequence) }, _time.GetUtcNow(), true)));

    /// <summary>Numbers settlements in the order they are queued (retries keep theirs), so the grain applies each once.</summary>
    private long _sequence;

    private void Enqueue(string grainKey, Action<Lane> add)
    {
        while (true)
        {
            var lane = _lanes.GetOrAdd(grainKey, static key => new Lane(key));
            lock (lane)
            {
                if (lane.Retired)
                {
                    continue;
                }

                add(lane);
                lane.LastUsed = _time.GetTimestamp();
                if (lane.Running)
                {
                    return;
                }

                lane.Running = true;
            }

            _ = RunAsync(lane);
            return;
        }
    }

    private async Task RunAsync(Lane lane)
    {
        var failures = 0;
        while (true)
        {
            List<(SettleOperation Operation, DateTimeOffset At, bool Reserved)> settles;
            List<(ReserveOperation Operation, TaskCompletionSource<ReserveResult> Pending)> reserves;
            bool renew;
            LeaseOperation? lease;
            lock (lane)
            {
                lease = TakeLeaseSync(lane);
                if (lane.Settles.Count == 0 && lane.Reserves.Count == 0 && !lane.RenewRequested && lease is null)
                {
                    lane.Running = false;
                    return;
                }

                settles = Take(lane.Settles, MaxBatch);
                reserves = Take(lane.Reserves, MaxBatch - settles.Count);
                renew = lane.RenewRequested;
                lane.RenewRequested = false;
            }

            var tenantId = lane.TenantId;
            try
            {
                var batch = new BudgetBatch(Holder, ReservationSeconds, [.. settles.Select(s => s.Operation)], [.. reserves.Select(r => r.Operation)], lease);
                var result = await _grains.GetGrain<IBudgetGrain>(lane.Key).ApplyAsync(batch).ConfigureAwait(false);
                if (result.Lease is { } leased)
                {
                    lock (lane)
                    {
                        LeaseAnswered(lane, leased);
                    }
                }

                var granted = result.Reserves.Count(r => r.Granted);
                Interlocked.Add(ref lane.Outstanding, granted - settles.Count(s => s.Reserved));
                for (var i = 0; i < reserves.Count; i++)
                {
                    reserves[i].Pending.TrySetResult(result.Reserves[i]);
                }

                failures = 0;
                IndexVersionSeen?.Invoke(tenantId, result.IndexVersion);
            }
            catch (Exception ex)
            {
                failures++;
                LogBatchFailed(_logger, lane.Key, settles.Count, reserves.Count, ex.GetType().Name);
                var now = _time.GetUtcNow();
                var releases = new List<(SettleOperation, DateTimeOffset)>(reserves.Count);
                foreach (var (operation, pending) in reserves)
                {
                    // The grain may have granted and stored it before the answer was lost: release it, or it would be held for good.
                    releases.Add((new SettleOperation(operation.ReservationId, null, operation.Dimensions), now));
                    pending.TrySetException(new PlatformException(
                        ErrorKind.Unavailable, "The budget for this request could not be checked; nothing was sent to the model. Retry in a moment.", null, ErrorCodes.BudgetUnavailable)
                    {
                        RetryAfterSeconds = 1,
                    });
                }

                var kept = settles.Where(s => now - s.At < SettleRetryLimit).ToList();
                if (kept.Count < settles.Count)
                {
                    LogSettlementsDropped(_logger, lane.Key, settles.Count - kept.Count);
                    Interlocked.Add(ref lane.Outstanding, kept.Count(s => s.Reserved) - settles.Count(s => s.Reserved));
                }

                Interlocked.Add(ref lane.Outstanding, releases.Count);
                lock (lane)
                {
                    // Retried first, in their order; the releases are new, numbered after everything already queued.
                    lane.Settles.InsertRange(0, kept);
                    foreach (var (release, at) in releases)
                    {
                        lane.Settles.Add((release with { Sequence = Interlocked.Increment(ref _sequence) }, at, true));
                    }

                    lane.RenewRequested |= renew;

                    // A lease's sync whose answer was lost stays as it is (in the lease) and is sent again.
                }

                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 50 * (1 << Math.Min(failures, 7)))), _time).ConfigureAwait(false);
            }
        }
    }

    private static List<T> Take<T>(List<T> queue, int max)
    {
        var count = Math.Min(queue.Count, Math.Max(0, max));
        var taken = queue.GetRange(0, count);
        queue.RemoveRange(0, count);
        return taken;
    }

    /// <summary>Renews this silo's reservations on every grain where it holds some; forgets lanes idle for a minute.</summary>
    private void Renew()
    {
        var now = _time.GetTimestamp();
        foreach (var (key, lane) in _lanes)
        {
            var start = false;
            lock (lane)
            {
                if (Volatile.Read(ref lane.Outstanding) > 0)
                {
                    lane.RenewRequested = true;
                    start = !lane.Running;
                    lane.Running = true;
                }
                else if (!lane.Running && lane.Lease is null && lane.Settles.Count == 0 && lane.Reserves.Count == 0
                    && _time.GetElapsedTime(lane.LastUsed, now) > TimeSpan.FromMinutes(1))
                {
                    lane.Retired = true;
                    _lanes.TryRemove(key, out _);
                }
            }

            if (start)
            {
                _ = RunAsync(lane);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _renewals.DisposeAsync();
        await _flushes.DisposeAsync();
        FlushSpend();
        if (_leaseTicks is not null)
        {
            await _leaseTicks.DisposeAsync();
            EndLeases();
            LeaseTick();
        }
    }

    private sealed class Lane(string key)
    {
        public readonly string Key = key;
        public readonly string TenantId = BudgetKeys.Parse(key).TenantId;
        public readonly BudgetScope Scope = BudgetKeys.Parse(key).Scope;
        public bool IsTenant => Scope == BudgetScope.Tenant;

        /// <summary>This silo's lease on the scope, if any (see BudgetAgent.Leases.cs).</summary>
        public LeaseState? Lease;
        public bool SyncRequested;
        public int ReservesThisPeriod;
        public long LeaseBackoffUntil;
        /// <summary>Queued settlements; Reserved is false for spend summed per silo (<see cref="Record"/>), which settles no reservation.</summary>
        public readonly List<(SettleOperation Operation, DateTimeOffset At, bool Reserved)> Settles = [];
        public readonly List<(ReserveOperation, TaskCompletionSource<ReserveResult>)> Reserves = [];
        public long Outstanding;
        public bool Running;
        public bool RenewRequested;
        public bool Retired;
        public long LastUsed;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget {Budget}: a call with {Settles} settlements and {Reserves} reservations failed ({Reason}); settlements will be retried")]
    private static partial void LogBatchFailed(ILogger logger, string budget, int settles, int reserves, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Budget {Budget}: {Count} settlements could not be delivered for 15 minutes and were dropped (their reservations were charged at their worst case)")]
    private static partial void LogSettlementsDropped(ILogger logger, string budget, int count);
}
