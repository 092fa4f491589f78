using System.Text.Json;
using Microsoft.Extensions.Logging;
using Platform.Hosting;
using Platform.Notifications;
using Platform.Segments;
using Platform.Tenants;

namespace Platform.Budgets;

[GenerateSerializer]
[Alias("Platform.Budgets.BudgetGrainState")]
public sealed class BudgetGrainState
{
    [Id(0)]
    public BudgetLedgerState Ledger { get; set; } = new();

    [Id(1)]
    public List<AuditRecord> PendingAudit { get; set; } = [];

    /// <summary>Tenant scope: the index of scopes with limits.</summary>
    [Id(2)]
    public long IndexVersion { get; set; }

    [Id(3)]
    public List<string> IndexedKeys { get; set; } = [];

    [Id(4)]
    public List<string> IndexedDeployments { get; set; } = [];

    [Id(5)]
    public List<string> IndexedUsers { get; set; } = [];

    [Id(6)]
    public BudgetPolicy? DefaultUserPolicy { get; set; }

    /// <summary>End-user scope: the tenant's default user policy as last sent with a reservation (what expiries are counted against).</summary>
    [Id(11)]
    public BudgetPolicy? DefaultPolicy { get; set; }

    /// <summary>End-user scope under the default policy: when its windows are all over, so its state can be forgotten.</summary>
    [Id(12)]
    public DateTimeOffset? ForgetAt { get; set; }
}

/// <summary>
/// Tenant scope: the hourly spend rollups of the report, stored apart from the ledger so that a reservation's write does not
/// carry them; written within a second of a change (and when the grain deactivates).
/// </summary>
[GenerateSerializer]
[Alias("Platform.Budgets.BudgetRollupState")]
public sealed class BudgetRollupState
{
    [Id(0)]
    public DateTimeOffset RollupHour { get; set; }

    /// <summary>The current hour's rollups, by dimensions.</summary>
    [Id(1)]
    public Dictionary<string, SpendRollup> CurrentRollups { get; set; } = [];

    /// <summary>Closed hours' rollups not yet sealed in a segment (oldest first), and how many segments are sealed.</summary>
    [Id(2)]
    public List<SpendRollup> RollupHead { get; set; } = [];

    [Id(3)]
    public int RollupSegments { get; set; }
}

/// <summary>
/// The single writer of one budget scope (see <see cref="IBudgetGrain"/>). Each batch is decided in one turn and
/// written once before it is answered, so a granted reservation survives this grain's silo dying. Reservations of a
/// holder (silo) not heard from for their reservation time are charged at their worst case and dropped, by a timer
/// while any are in flight; after a restart every holder gets a full reservation time again to renew.
/// </summary>
public sealed partial class BudgetGrain(
    [PersistentState("budget", PlatformStorage.Default)] IPersistentState<BudgetGrainState> state,
    [PersistentState("budget-rollups", PlatformStorage.Default)] IPersistentState<BudgetRollupState> rollups,
    TimeProvider time,
    ILogger<BudgetGrain> logger) : Grain, IBudgetGrain, IRemindable
{
    private const string ForgetReminder = "forget";

    /// <summary>Distinct (key, deployment, model, user) combinations kept per hour; beyond it, users are summed as <see cref="OtherUsers"/>.</summary>
    public const int MaxRollupsPerHour = 2000;

    public const string OtherUsers = "(other users)";


    /// <summary>End users with limits of their own, per tenant (the rest share the default user policy).</summary>
    public const int MaxIndexedUsers = 10_000;

    private BudgetLedger _ledger = null!;
    private AuditOutbox? _audit;
    private IGrainTimer? _expiry;
    private (string TenantId, BudgetScope Scope, string Id) _key;

    private AuditOutbox Audit => _audit ??= new AuditOutbox(
        this, GrainFactory, () => _key.TenantId, () => state.State.PendingAudit, () => state.WriteStateAsync(), time, logger);

    private bool IsTenantScope => _key.Scope == BudgetScope.Tenant;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = BudgetKeys.Parse(this.GetPrimaryKeyString());
        _ledger = new BudgetLedger(state.State.Ledger);

        // A holder cannot have renewed while this grain was not active: each gets a full reservation time from now.
        var now = time.GetUtcNow();
        foreach (var holder in state.State.Ledger.Holders.Keys.ToList())
        {
            state.State.Ledger.Holders[holder] = now;
        }

        ScheduleExpiry();
        Audit.ResumeIfPending();
        return Task.CompletedTask;
    }

    public async Task<BudgetBatchResult> ApplyAsync(BudgetBatch batch)
    {
        var now = time.GetUtcNow();
        _ledger.Heard(batch.Holder, now);
        var fallback = DefaultFor(batch);
        var alerts = new List<BudgetAlert>();

        // The report's rollups of this batch, added once the ledger change they belong to is stored: if the write fails, the
        // ledger goes back to what is stored and the silo sends the batch again, which must not add them a second time.
        var rolled = new List<(SpendDimensions, BudgetAmount)>();
        var mustWrite = Expire(now, fallback, alerts, rolled);
        var settled = false;

        foreach (var settle in batch.Settles)
        {
            var (charged, crossed) = _ledger.Settle(settle, fallback, now, batch.Holder);
            alerts.AddRange(crossed);
            if (charged is { } usage)
            {
                rolled.Add((settle.Dimensions, usage));
            }

            settled = true;
        }

        var seconds = Math.Clamp(batch.ReservationSeconds, 1, 3600);
        LeaseResult? lease = null;
        if (batch.Lease is { } op)
        {
            lease = ApplyLease(op, batch.Holder, seconds, now, alerts, rolled);
            mustWrite = true;
        }

        var results = new List<ReserveResult>(batch.Reserves.Count);
        foreach (var reserve in batch.Reserves)
        {
            // Only the tenant's budget keeps rollups (of expired reservations too): other scopes need not store the dimensions.
            var result = _ledger.Reserve(IsTenantScope ? reserve : reserve with { Dimensions = SpendDimensions.None }, batch.Holder, seconds, now);
            mustWrite |= result.Granted;
            results.Add(result);
        }

        // A granted reservation is stored before it is answered. Settlements alone, and the report's rollups, may wait up to
        // a second: if this grain's silo dies first, the settled reservations come back from storage and expire at their
        // worst case (never less than was spent), and the report misses at most that second.
        if (mustWrite || alerts.Count > 0)
        {
            RecordAlerts(alerts);
            var forget = NextForget(now);
            await WriteAsync();
            ScheduleExpiry();
            if (forget is { } at)
            {
                await RegisterForgetAsync(at, now);
            }
        }
        else if (settled)
        {
            _stateDirty = true;
            _deferred.Add((batch.Holder, batch.Settles, fallback, now));
        }

        foreach (var (dimensions, usage) in rolled)
        {
            Rollup(dimensions, usage, now);
        }

        ScheduleFlush();

        return new BudgetBatchResult(results, state.State.IndexVersion, lease);
    }

    /// <summary>
    /// A silo's lease sync. End users have no leases (their traffic is spread thin; each request is reserved on its own),
    /// so a lease asked of a user scope gets nothing.
    /// </summary>
    private LeaseResult ApplyLease(
        LeaseOperation op, string holder, int seconds, DateTimeOffset now, List<BudgetAlert> alerts, List<(SpendDimensions, BudgetAmount)> rolled)
    {
        if (_key.Scope == BudgetScope.User)
        {
            return new LeaseResult(op.LeaseId, default, [], true);
        }

        var (held, reclaim, charged) = _ledger.Lease(op, holder, seconds, now);
        foreach (var (charge, crossed) in charged)
        {
            alerts.AddRange(crossed);
            rolled.Add((charge.Dimensions, charge.Usage));
        }

        return new LeaseResult(op.LeaseId, held, _ledger.Headroom(state.State.Ledger.Policy, now), reclaim);
    }

    public Task<BudgetStatus> GetStatusAsync() => Task.FromResult(Status(time.GetUtcNow()));

    public async Task<BudgetStatus> SetPolicyAsync(BudgetPolicy? policy, Actor actor)
    {
        if (policy is not null && BudgetWindows.Validate(policy) is { } error)
        {
            throw new PlatformException(ErrorKind.Invalid, error.Message, error.Field);
        }

        var before = state.State.Ledger.Policy;
        var record = Audit.Add(actor, policy is null ? "budget.remove" : "budget.set", Target, Json(before), Json(policy));
        _ledger.SetPolicy(policy, time.GetUtcNow());
        if (IsTenantScope && (before is null) != (policy is null))
        {
            state.State.IndexVersion++;
        }

        try
        {
            await WriteAsync();
        }
        catch
        {
            Audit.Remove(record);
            throw;
        }

        _ = Audit.DeliverAsync();
        return Status(time.GetUtcNow());
    }

    public async Task<BudgetStatus> ResetAsync(Actor actor)
    {
        var now = time.GetUtcNow();
        var before = Status(now);
        var record = Audit.Add(actor, "budget.reset", Target, JsonSerializer.Serialize(before.Windows.Select(w => new { w.Limit.CounterKey, w.Used })), null);
        _ledger.Reset();
        try
        {
            await WriteAsync();
        }
        catch
        {
            Audit.Remove(record);
            throw;
        }

        _ = Audit.DeliverAsync();
        return Status(now);
    }

    public Task<BudgetIndex> GetIndexAsync() => Task.FromResult(Index());

    public async Task<BudgetIndex> SetIndexedAsync(BudgetScope scope, string id, bool limited)
    {
        RequireTenantScope();
        var list = scope switch
        {
            BudgetScope.Key => state.State.IndexedKeys,
            BudgetScope.Deployment => state.State.IndexedDeployments,
            BudgetScope.User => state.State.IndexedUsers,
            _ => null,
        };
        if (list is null)
        {
            return Index();
        }

        var present = list.Contains(id);
        if (present == limited)
        {
            return Index();
        }

        if (limited && scope == BudgetScope.User && list.Count >= MaxIndexedUsers)
        {
            throw new PlatformException(ErrorKind.Invalid, $"A tenant can give at most {MaxIndexedUsers} end users limits of their own; use the default user limits.", "scope");
        }

        if (limited)
        {
            list.Add(id);
        }
        else
        {
            list.Remove(id);
        }

        state.State.IndexVersion++;
        await WriteAsync();
        return Index();
    }

    public async Task<BudgetIndex> SetDefaultUserPolicyAsync(BudgetPolicy? policy, Actor actor)
    {
        RequireTenantScope();
        if (policy is not null && BudgetWindows.Validate(policy) is { } error)
        {
            throw new PlatformException(ErrorKind.Invalid, error.Message, error.Field);
        }

        var record = Audit.Add(actor, policy is null ? "budget.default_user.remove" : "budget.default_user.set", $"budget/{_key.TenantId}/user/*",
            Json(state.State.DefaultUserPolicy), Json(policy));
        var before = (state.State.DefaultUserPolicy, state.State.IndexVersion);
        state.State.DefaultUserPolicy = policy;
        state.State.IndexVersion++;
        try
        {
            await WriteAsync();
        }
        catch
        {
            Audit.Remove(record);
            (state.State.DefaultUserPolicy, state.State.IndexVersion) = before;
            throw;
        }

        _ = Audit.DeliverAsync();
        return Index();
    }

    public async Task<IReadOnlyList<SpendRollup>> GetRollupsAsync(DateTimeOffset from, DateTimeOffset to)
    {
        RequireTenantScope();
        var s = rollups.State;
        var result = new List<SpendRollup>();
        var key = RollupKey;
        for (var segment = await FirstSegmentEndingAtOrAfterAsync(from); segment <= s.RollupSegments; segment++)
        {
            var block = await SegmentedList.BlockAsync(GrainFactory, key, s.RollupSegments, s.RollupHead, segment);
            result.AddRange(block.Where(r => r.Hour >= from && r.Hour < to));
            if (block.Count > 0 && block[^1].Hour >= to)
            {
                return result;
            }
        }

        result.AddRange(s.CurrentRollups.Values.Where(r => r.Hour >= from && r.Hour < to));
        return result;
    }

    private string RollupKey => "budget-rollups/" + _key.TenantId;

    private string Target => $"budget/{_key.TenantId}/{BudgetKeys.Name(_key.Scope)}/{_key.Id}";

    private async Task<int> FirstSegmentEndingAtOrAfterAsync(DateTimeOffset from)
    {
        int low = 0, high = rollups.State.RollupSegments;
        while (low < high)
        {
            var middle = (low + high) / 2;
            var block = await SegmentedList.Segment<SpendRollup>(GrainFactory, RollupKey, middle).GetAsync();
            if (block.Count > 0 && block[^1].Hour < from)
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

    /// <summary>An end user's default policy: the one the latest reservation carried (the tenant's, as the silo last read it).</summary>
    /// <summary>
    /// An end user under the tenant's default limits is one grain's stored state per distinct <c>user</c> a client sends.
    /// Once all its windows are over the state says nothing any more, so it is forgotten then (a reminder wakes the grain):
    /// storage holds the users active within one window, not every user ever seen. Returns a later time to forget at, when
    /// the last one is too early for the spend just stored (moved at most about ten times a window), else null.
    /// </summary>
    private DateTimeOffset? NextForget(DateTimeOffset now)
    {
        if (_key.Scope != BudgetScope.User || state.State.Ledger.Policy is not null || state.State.DefaultPolicy is not { } policy)
        {
            return null;
        }

        var at = now;
        var longest = TimeSpan.Zero;
        foreach (var window in _ledger.Windows(policy, now))
        {
            var length = BudgetWindows.Length(window.Limit);
            longest = length > longest ? length : longest;

            // A rolling window's spend counts until a window's length after it; an aligned one's until its window ends
            // (with rollover, what it left unused counts in the next one too).
            var end = window.Limit.Rolling ? now + length : window.Limit.Rollover ? window.WindowEnd + length : window.WindowEnd;
            at = end > at ? end : at;
        }

        var step = ForgetStep(longest);
        if (state.State.ForgetAt is { } planned && at <= planned)
        {
            return null;
        }

        // Rounded up to the step, so spend through the rest of a step does not move it again.
        at = new DateTimeOffset(((at.UtcTicks / step.Ticks) + 1) * step.Ticks, TimeSpan.Zero);
        state.State.ForgetAt = at;
        return at;
    }

    private static TimeSpan ForgetStep(TimeSpan longest) => TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, longest.Ticks / 10));

    private async Task RegisterForgetAsync(DateTimeOffset at, DateTimeOffset now)
    {
        try
        {
            var due = at - now;
            await this.RegisterOrUpdateReminder(ForgetReminder, due < TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : due, TimeSpan.FromHours(1));
        }
        catch (Exception ex)
        {
            // Forgetting is housekeeping: the next write tries again.
            state.State.ForgetAt = null;
            LogForgetFailed(logger, Target, ex.GetType().Name);
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ForgetReminder)
        {
            return;
        }

        var s = state.State;
        if (_key.Scope == BudgetScope.User && s.Ledger.Policy is null && s.Ledger.Reservations.Count == 0
            && (s.ForgetAt is not { } at || at <= time.GetUtcNow()))
        {
            await state.ClearStateAsync();
            _ledger = new BudgetLedger(state.State.Ledger);
            if (await this.GetReminder(ForgetReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            DeactivateOnIdle();
        }
    }

    private BudgetPolicy? DefaultFor(BudgetBatch batch)
    {
        if (_key.Scope != BudgetScope.User)
        {
            return null;
        }

        if (batch.Reserves.Count > 0)
        {
            state.State.DefaultPolicy = batch.Reserves[^1].DefaultPolicy;
        }

        return state.State.DefaultPolicy;
    }

    private bool Expire(DateTimeOffset now, BudgetPolicy? fallback, List<BudgetAlert> alerts, List<(SpendDimensions, BudgetAmount)> rolled)
    {
        var expired = _ledger.Expire(fallback, now);
        foreach (var (reservation, crossed) in expired)
        {
            alerts.AddRange(crossed);
            rolled.Add((reservation.Dimensions, reservation.WorstCase));
            LogExpired(logger, Target, reservation.Holder, reservation.WorstCase.Usd);
        }

        return expired.Count > 0;
    }

    private void Rollup(SpendDimensions dimensions, BudgetAmount usage, DateTimeOffset now)
    {
        if (!IsTenantScope)
        {
            return;
        }

        var s = rollups.State;
        _rollupsDirty = true;
        var hour = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero);
        if (hour != s.RollupHour)
        {
            s.RollupHead.AddRange(s.CurrentRollups.Values.OrderBy(r => r.Dimensions.KeyId, StringComparer.Ordinal));
            s.CurrentRollups.Clear();
            s.RollupHour = hour;
        }

        var key = $"{dimensions.KeyId}\n{dimensions.Deployment}\n{dimensions.Model}\n{dimensions.User}";
        if (!s.CurrentRollups.ContainsKey(key) && s.CurrentRollups.Count >= MaxRollupsPerHour)
        {
            dimensions = dimensions with { User = OtherUsers };
            key = $"{dimensions.KeyId}\n{dimensions.Deployment}\n{dimensions.Model}\n{dimensions.User}";
        }

        s.CurrentRollups[key] = s.CurrentRollups.TryGetValue(key, out var r)
            ? r with { Usd = r.Usd + usage.Usd, Tokens = r.Tokens + usage.Tokens, Requests = r.Requests + usage.Requests }
            : new SpendRollup(hour, dimensions, usage.Usd, usage.Tokens, usage.Requests);
    }

    /// <summary>Moves full blocks of closed hours into segments, so this grain's record stays bounded.</summary>
    private async Task SealRollupsAsync()
    {
        var s = rollups.State;
        while (await SegmentedList.SealIfFullAsync(GrainFactory, RollupKey, s.RollupSegments, s.RollupHead))
        {
            s.RollupHead.RemoveRange(0, SegmentedList.SegmentSize);
            s.RollupSegments++;
        }
    }

    private void RecordAlerts(List<BudgetAlert> alerts)
    {
        if (alerts.Count == 0)
        {
            return;
        }

        var notifications = GrainFactory.GetGrain<INotificationGrain>(_key.TenantId);
        foreach (var alert in alerts)
        {
            var reason = $"{BudgetKeys.Name(_key.Scope)} '{_key.Id}' reached {alert.Threshold}% of its {Describe(alert.Limit)} limit "
                + $"({alert.Used.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture)} of "
                + $"{alert.Allowance.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture)}).";
            if (Audit.TryAdd(Actor.System("budget"), "budget.threshold", Target, null, reason))
            {
                _ = notifications.NotifyAsync(new Notification(NotificationEvents.BudgetThreshold, _key.TenantId, Target, alert.WindowStart, reason, null, null, alert.Threshold, Guid.NewGuid().ToString("N")));
            }
        }
    }

    private static string Describe(BudgetLimit limit) =>
        $"{limit.Metric.ToString().ToLowerInvariant()} per {(limit.Window == BudgetWindow.Custom ? $"{limit.WindowSeconds} s" : limit.Window.ToString().ToLowerInvariant())}{(limit.Rolling ? " (rolling)" : "")}";

    private IGrainTimer? _flush;
    private bool _stateDirty;
    private bool _rollupsDirty;

    /// <summary>Writes, within a second, settlements not written with a reservation and the report's rollups.</summary>
    private void ScheduleFlush()
    {
        if (_flush is null && (_stateDirty || _rollupsDirty))
        {
            _flush = this.RegisterGrainTimer(
                static (grain, _) => grain.FlushAsync(),
                this,
                new GrainTimerCreationOptions { DueTime = TimeSpan.FromSeconds(1), Period = Timeout.InfiniteTimeSpan, KeepAlive = true });
        }
    }

    private async Task FlushAsync()
    {
        _flush?.Dispose();
        _flush = null;
        try
        {
            if (_stateDirty)
            {
                await WriteAsync();
            }

            if (_rollupsDirty)
            {
                await WriteRollupsAsync();
            }
        }
        catch (Exception ex)
        {
            LogWriteFailed(logger, Target, ex);
            ScheduleFlush();
        }
    }

    private async Task WriteRollupsAsync()
    {
        _rollupsDirty = false;
        try
        {
            await SealRollupsAsync();
            await rollups.WriteStateAsync();
        }
        catch
        {
            _rollupsDirty = true;
            throw;
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _flush?.Dispose();
        _flush = null;
        if (_stateDirty)
        {
            await WriteAsync();
        }

        if (_rollupsDirty)
        {
            await WriteRollupsAsync();
        }
    }

    /// <summary>
    /// Settle-only batches answered but not yet stored (their write waits up to a second): a failed write that sends the
    /// ledger back to storage applies them again, so what was acknowledged is not lost with the batch that failed.
    /// </summary>
    private readonly List<(string Holder, IReadOnlyList<SettleOperation> Settles, BudgetPolicy? Fallback, DateTimeOffset At)> _deferred = [];

    private async Task WriteAsync()
    {
        _stateDirty = false;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Back to what is stored: a retried settlement must not find its reservation already gone from memory only.
            // Settlements already answered are applied again (their report rollups were added then and stay).
            await state.ReadStateAsync();
            _ledger = new BudgetLedger(state.State.Ledger);
            foreach (var (holder, settles, fallback, at) in _deferred)
            {
                foreach (var settle in settles)
                {
                    _ledger.Settle(settle, fallback, at, holder);
                }
            }

            _stateDirty = _deferred.Count > 0;
            throw;
        }

        _deferred.Clear();

        if (state.State.PendingAudit.Count > 0)
        {
            _ = Audit.DeliverAsync();
        }
    }

    private void ScheduleExpiry()
    {
        _expiry?.Dispose();
        _expiry = null;
        if (_ledger.NextExpiry() is not { } at)
        {
            return;
        }

        var due = at - time.GetUtcNow();
        _expiry = this.RegisterGrainTimer(
            static async (grain, _) => await grain.ExpireNowAsync(),
            this,
            new GrainTimerCreationOptions { DueTime = due < TimeSpan.Zero ? TimeSpan.Zero : due + TimeSpan.FromMilliseconds(50), Period = Timeout.InfiniteTimeSpan, KeepAlive = true });
    }

    private async Task ExpireNowAsync()
    {
        var alerts = new List<BudgetAlert>();
        var rolled = new List<(SpendDimensions, BudgetAmount)>();
        var now = time.GetUtcNow();
        if (Expire(now, _key.Scope == BudgetScope.User ? state.State.DefaultPolicy : null, alerts, rolled))
        {
            RecordAlerts(alerts);
            try
            {
                await WriteAsync();

                // Not before: a failed write brings the expired reservations back, to expire (and be rolled up) again.
                foreach (var (dimensions, usage) in rolled)
                {
                    Rollup(dimensions, usage, now);
                }
            }
            catch (Exception ex)
            {
                LogWriteFailed(logger, Target, ex);
            }
        }

        ScheduleFlush();
        ScheduleExpiry();
    }

    private BudgetStatus Status(DateTimeOffset now)
    {
        var l = state.State.Ledger;
        var policy = BudgetLedger.Effective(l, _key.Scope == BudgetScope.User ? state.State.DefaultPolicy : null);
        var leases = l.Reservations.Values.Count(r => r.Lease);
        return new BudgetStatus(_key.Scope, _key.Id, l.Policy, _ledger.Windows(policy, now), l.Reservations.Count - leases, _ledger.Reserved,
            l.SettledUsd, l.SettledRequests, l.ExpiredCount, leases, _ledger.Leased);
    }

    private BudgetIndex Index() => new(
        state.State.IndexVersion,
        state.State.IndexedKeys,
        state.State.IndexedDeployments,
        state.State.IndexedUsers,
        state.State.DefaultUserPolicy,
        state.State.Ledger.Policy is not null);

    private void RequireTenantScope()
    {
        if (!IsTenantScope)
        {
            throw new PlatformException(ErrorKind.Invalid, "Only a tenant's budget keeps the index and the spend rollups.", "scope");
        }
    }

    private static string? Json(BudgetPolicy? policy) => policy is null ? null : JsonSerializer.Serialize(policy);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget {Budget}: the reminder that forgets an end user's spent windows could not be set ({Reason}); retried at its next write")]
    private static partial void LogForgetFailed(ILogger logger, string budget, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget {Budget}: a reservation of holder {Holder} expired unsettled and was charged its worst case (${Usd})")]
    private static partial void LogExpired(ILogger logger, string budget, string holder, decimal usd);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget {Budget}: state not written in the background (expired reservations or settlements); retried with the next change")]
    private static partial void LogWriteFailed(ILogger logger, string budget, Exception exception);
}
