namespace Platform.Budgets;

/// <summary>
/// The budget arithmetic of one scope, with no Orleans in it: reserve a request's worst case against every limit,
/// settle it to its real usage, expire the reservations of holders that went silent, and say what is left. A request
/// is granted only if, for every limit, spend in the window plus everything reserved plus its worst case fits the
/// window's allowance; so however requests interleave, settled spend never exceeds a limit (as long as no request
/// costs more than the worst case it reserved).
/// </summary>
public sealed class BudgetLedger
{
    /// <summary>How many settled or expired reservation ids are remembered, to recognise repeated and late settlements.</summary>
    public const int RecentlyClosedCapacity = 4096;

    private readonly BudgetLedgerState _state;
    private readonly HashSet<string> _closed;

    /// <summary>Reservations settled in this activation (not stored: stored settlements are recognised by sequence).</summary>
    private readonly HashSet<string> _settled = [];
    private readonly Queue<string> _settledOrder = new();
    private BudgetAmount _reserved;

    /// <summary>The part of <see cref="_reserved"/> held by leases.</summary>
    private BudgetAmount _leased;

    /// <summary>Until when leases are asked back: a request was refused while slices were held elsewhere.</summary>
    private DateTimeOffset _reclaimUntil = DateTimeOffset.MinValue;

    /// <summary>How long leases are asked back after a refusal they may have caused.</summary>
    public static readonly TimeSpan ReclaimFor = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Leases together may hold at most this fraction of what is left of a limit (allowance minus spend minus the
    /// reservations of single requests): the rest stays for requests reserved one by one and for other silos.
    /// </summary>
    public const decimal MaxLeasedFraction = 0.5m;

    public BudgetLedger(BudgetLedgerState state)
    {
        _state = state;
        _closed = [.. state.RecentlyExpired];
        foreach (var r in state.Reservations.Values)
        {
            _reserved += r.WorstCase;
            if (r.Lease)
            {
                _leased += r.WorstCase;
            }
        }
    }

    /// <summary>The sum of the leases' slices.</summary>
    public BudgetAmount Leased => _leased;

    /// <summary>
    /// Applies a silo's lease sync (numbered per lease, from 1): charges the usage it served from its slice (each charge returned with the alerts it
    /// crossed, for the report), then shrinks the slice, or grows it if every limit stays far enough from its allowance.
    /// Returns the slice now held (zero: the lease is over) and whether leases are being asked back.
    /// </summary>
    public (BudgetAmount Held, bool Reclaim, IReadOnlyList<(LeaseCharge Charge, IReadOnlyList<BudgetAlert> Alerts)> Charged) Lease(
        LeaseOperation op, string holder, int seconds, DateTimeOffset now)
    {
        _state.Reservations.TryGetValue(op.LeaseId, out var lease);
        var policy = _state.Policy;
        var mine = lease is { Lease: true } && lease.Holder == holder;
        // A lease starts with its first sync: a later one for a lease not held is of one that ended or expired (charged in
        // full) and whose id has left the bounded list of closed ids; applying it would charge its requests a second time.
        var forgotten = lease is null && op.Sequence > 1;
        if (forgotten || _closed.Contains(op.LeaseId) || (lease is not null && !mine) || (mine && op.Sequence <= lease!.LeaseSequence))
        {
            // Applied already (its answer was lost), over, or expired and charged in full: only the slice held is reported.
            return (mine ? lease!.WorstCase : default, Reclaiming(policy, now), []);
        }

        var held = lease?.WorstCase ?? default;
        if (lease is not null)
        {
            // The slice is taken out of the totals while it is worked on, and put back at its new size.
            _reserved -= held;
            _leased -= held;
        }

        var charged = new List<(LeaseCharge, IReadOnlyList<BudgetAlert>)>(op.Charges.Count);
        foreach (var charge in op.Charges)
        {
            charged.Add((charge, Charge(charge.Usage, null, now)));
            held = (held - charge.Usage).NonNegative();
        }

        var wanted = op.Hold.NonNegative();
        var next = BudgetAmount.Min(held, wanted);
        if (wanted != next && policy is not null && CanGrow(policy, held, wanted, now))
        {
            next = wanted;
        }

        if (next == default)
        {
            // Over: remembered, so a repeat of this sync (its charges) is not applied again.
            _state.Reservations.Remove(op.LeaseId);
            Close(op.LeaseId);
        }
        else
        {
            lease ??= _state.Reservations[op.LeaseId] = new Reservation
            {
                Id = op.LeaseId,
                Dimensions = LeaseDimensions,
                Holder = holder,
                Seconds = seconds,
                Lease = true,
            };
            lease.WorstCase = next;
            lease.Seconds = seconds;
            lease.LeaseSequence = op.Sequence;
            _reserved += next;
            _leased += next;
        }

        _state.Holders[holder] = now;
        return (next, Reclaiming(policy, now), charged);
    }

    /// <summary>A lease's holder syncs every 100 ms: one not heard from for this long is presumed gone (its slice waits to expire).</summary>
    public static readonly TimeSpan LeaseHolderSilence = TimeSpan.FromSeconds(1);

    /// <summary>What the leases of holders heard from recently hold: only those can be asked back in time for a retry.</summary>
    private decimal LiveLeased(BudgetMetric metric, DateTimeOffset now)
    {
        decimal live = 0;
        foreach (var r in _state.Reservations.Values)
        {
            if (r.Lease && _state.Holders.TryGetValue(r.Holder, out var heard) && now - heard <= LeaseHolderSilence)
            {
                live += r.WorstCase.Of(metric);
            }
        }

        return live;
    }

    /// <summary>What the report charges an expired lease's slice to (its requests' own dimensions never reached the grain).</summary>
    public static readonly SpendDimensions LeaseDimensions = new("(unsettled lease)", null, "(unsettled lease)", null);

    /// <summary>Growing a slice from <paramref name="held"/> to <paramref name="wanted"/>: every limit must fit it with leases under their share.</summary>
    private bool CanGrow(BudgetPolicy policy, BudgetAmount held, BudgetAmount wanted, DateTimeOffset now)
    {
        if (now < _reclaimUntil)
        {
            return false;
        }

        foreach (var limit in policy.Limits)
        {
            var (used, allowance) = Window(limit, now);
            var want = wanted.Of(limit.Metric);
            if (want <= held.Of(limit.Metric))
            {
                continue;
            }

            // The totals exclude this lease here.
            var reserved = _reserved.Of(limit.Metric);
            var leased = _leased.Of(limit.Metric);
            var free = allowance - used - (reserved - leased);
            if (used + reserved + want > allowance || leased + want > free * MaxLeasedFraction)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True while leases are asked back: after a refusal they may have caused, or while they hold more than their share.</summary>
    private bool Reclaiming(BudgetPolicy? policy, DateTimeOffset now)
    {
        if (now < _reclaimUntil)
        {
            return true;
        }

        if (policy is null || _leased == default)
        {
            return false;
        }

        foreach (var limit in policy.Limits)
        {
            var (used, allowance) = Window(limit, now);
            var leased = _leased.Of(limit.Metric);
            var free = allowance - used - (_reserved.Of(limit.Metric) - leased);
            if (leased > 0 && leased > free * MaxLeasedFraction)
            {
                return true;
            }
        }

        return false;
    }


    public BudgetLedgerState State => _state;

    /// <summary>The sum of the worst cases of the reservations in flight.</summary>
    public BudgetAmount Reserved => _reserved;

    /// <summary>The policy in force: the scope's own, else the default passed (end users).</summary>
    public static BudgetPolicy? Effective(BudgetLedgerState state, BudgetPolicy? fallback) => state.Policy ?? fallback;

    public void Heard(string holder, DateTimeOffset now) => _state.Holders[holder] = now;

    /// <summary>Reserves <paramref name="op"/>'s worst case if every limit allows it. A repeated id returns the reservation already held.</summary>
    public ReserveResult Reserve(ReserveOperation op, string holder, int seconds, DateTimeOffset now)
    {
        var policy = Effective(_state, op.DefaultPolicy);
        if (_state.Reservations.ContainsKey(op.ReservationId))
        {
            return new ReserveResult(op.ReservationId, true, null, 0, Headroom(policy, now));
        }

        if (_closed.Contains(op.ReservationId))
        {
            // Released (or settled) before this reservation arrived: its request is over, nothing may be held for it.
            return new ReserveResult(op.ReservationId, false, "The request was already released.", 0, Headroom(policy, now));
        }

        if (policy is not null)
        {
            foreach (var limit in policy.Limits)
            {
                var (used, allowance) = Window(limit, now);
                var need = op.WorstCase.Of(limit.Metric);
                var reserved = _reserved.Of(limit.Metric);
                if (used + reserved + need <= allowance)
                {
                    continue;
                }

                var neverFits = need > limit.Amount * (limit.Rollover ? 2 : 1);

                // Slices held by silos' leases may be what stands in the way: they are asked back, and the caller may retry.
                var leasesHeld = !neverFits && _leased.Of(limit.Metric) > 0 && used + (reserved - LiveLeased(limit.Metric, now)) + need <= allowance;
                if (leasesHeld)
                {
                    _reclaimUntil = now + ReclaimFor;
                }

                return new ReserveResult(
                    op.ReservationId,
                    false,
                    Describe(limit, used, reserved, need, allowance, neverFits),
                    neverFits ? 0 : RetryAfter(limit, used, reserved, need, allowance, now),
                    Headroom(policy, now),
                    neverFits,
                    limit.Metric,
                    leasesHeld);
            }
        }

        _state.Reservations[op.ReservationId] = new Reservation
        {
            Id = op.ReservationId,
            WorstCase = op.WorstCase,
            Dimensions = op.Dimensions,
            Holder = holder,
            Seconds = seconds,
        };
        _reserved += op.WorstCase;

        // The holder is heard as it reserves: an expiry earlier in the same turn may have dropped it (it had nothing in flight).
        _state.Holders[holder] = now;
        return new ReserveResult(op.ReservationId, true, null, 0, Headroom(policy, now));
    }

    /// <summary>
    /// Replaces a reservation by the real usage (none: released unspent) and returns the usage charged and any alert
    /// thresholds crossed. Usage of a reservation that already expired was charged at its worst case and is not charged again.
    /// </summary>
    public (BudgetAmount? Charged, IReadOnlyList<BudgetAlert> Alerts) Settle(SettleOperation op, BudgetPolicy? fallback, DateTimeOffset now, string? holder = null)
    {
        if (holder is not null && op.Sequence > 0)
        {
            if (_state.SettledThrough.TryGetValue(holder, out var through) && op.Sequence <= through)
            {
                return (null, []); // a batch repeated after its answer was lost
            }

            _state.SettledThrough[holder] = op.Sequence;
        }

        if (_state.Reservations.TryGetValue(op.ReservationId, out var held) && held.Lease)
        {
            return (null, []); // leases are settled by their syncs only
        }

        if (_state.Reservations.Remove(op.ReservationId, out var reservation))
        {
            _reserved -= reservation.WorstCase;
            Remember(op.ReservationId);
        }
        else if (_closed.Contains(op.ReservationId) || _settled.Contains(op.ReservationId))
        {
            // Settled already, or expired and charged at its worst case.
            return (null, []);
        }

        if (op.Usage is not { } usage)
        {
            // A release of a reservation this ledger never granted (its answer was lost): remembered, so a late reserve is refused.
            Close(op.ReservationId);
            return (null, []);
        }

        return (usage, Charge(usage, fallback, now));
    }

    /// <summary>Charges the worst case of every reservation whose holder was not heard from within its reservation time, and drops it.</summary>
    public IReadOnlyList<(Reservation Reservation, IReadOnlyList<BudgetAlert> Alerts)> Expire(BudgetPolicy? fallback, DateTimeOffset now)
    {
        List<(Reservation, IReadOnlyList<BudgetAlert>)>? expired = null;
        foreach (var r in _state.Reservations.Values)
        {
            var heard = _state.Holders.TryGetValue(r.Holder, out var at) ? at : DateTimeOffset.MinValue;
            if (heard.AddSeconds(r.Seconds) <= now)
            {
                (expired ??= []).Add((r, []));
            }
        }

        if (expired is null)
        {
            return [];
        }

        for (var i = 0; i < expired.Count; i++)
        {
            var r = expired[i].Item1;
            _state.Reservations.Remove(r.Id);
            _reserved -= r.WorstCase;
            if (r.Lease)
            {
                _leased -= r.WorstCase;
            }

            Close(r.Id);
            _state.ExpiredCount++;
            expired[i] = (r, Charge(r.WorstCase, fallback, now));
        }

        var holders = _state.Reservations.Values.Select(r => r.Holder).ToHashSet();
        if (_state.SettledThrough.Count > 1024)
        {
            foreach (var silent in _state.SettledThrough.Keys.Where(h => !_state.Holders.ContainsKey(h)).ToList())
            {
                _state.SettledThrough.Remove(silent);
            }
        }

        foreach (var holder in _state.Holders.Keys.Where(h => !holders.Contains(h)).ToList())
        {
            _state.Holders.Remove(holder);
        }

        return expired;
    }

    private void Remember(string id)
    {
        if (_settled.Add(id))
        {
            _settledOrder.Enqueue(id);
            if (_settledOrder.Count > RecentlyClosedCapacity)
            {
                _settled.Remove(_settledOrder.Dequeue());
            }
        }
    }

    /// <summary>Remembers a closed reservation (bounded), so a repeated settlement or a late one after expiry is not charged again.</summary>
    private void Close(string id)
    {
        if (!_closed.Add(id))
        {
            return;
        }

        _state.RecentlyExpired.Add(id);
        if (_state.RecentlyExpired.Count > RecentlyClosedCapacity)
        {
            _closed.Remove(_state.RecentlyExpired[0]);
            _state.RecentlyExpired.RemoveAt(0);
        }
    }

    /// <summary>When the next reservation would expire if its holder stays silent, or null with none in flight.</summary>
    public DateTimeOffset? NextExpiry()
    {
        DateTimeOffset? next = null;
        foreach (var r in _state.Reservations.Values)
        {
            var at = (_state.Holders.TryGetValue(r.Holder, out var heard) ? heard : DateTimeOffset.MinValue).AddSeconds(r.Seconds);
            next = next is null || at < next ? at : next;
        }

        return next;
    }

    /// <summary>Zeroes every current window's spend (alerts may fire again).</summary>
    public void Reset()
    {
        foreach (var counter in _state.Counters.Values)
        {
            counter.Used = 0;
            counter.Slots.Clear();
            counter.AlertsSent = 0;
        }
    }

    /// <summary>Sets the scope's own policy; counters of limits that remain (same metric and window) keep their spend.</summary>
    public void SetPolicy(BudgetPolicy? policy, DateTimeOffset? now = null)
    {
        _state.Policy = policy;
        var keep = policy?.Limits.Select(l => l.CounterKey).ToHashSet() ?? [];
        foreach (var key in _state.Counters.Keys.Where(k => !keep.Contains(k)).ToList())
        {
            _state.Counters.Remove(key);
        }

        if (policy is not null && now is { } at)
        {
            // Counted from now: the window a limit is set in is its first (nothing is carried into it), whenever it is first read.
            foreach (var limit in policy.Limits)
            {
                _ = Counter(limit, at);
            }
        }
    }

    public IReadOnlyList<LimitStatus> Windows(BudgetPolicy? policy, DateTimeOffset now)
    {
        if (policy is null)
        {
            return [];
        }

        var list = new List<LimitStatus>(policy.Limits.Count);
        foreach (var limit in policy.Limits)
        {
            var (used, allowance) = Window(limit, now);
            var reserved = _reserved.Of(limit.Metric);
            var (start, end) = limit.Rolling
                ? (now - BudgetWindows.Length(limit), now)
                : AlignedBounds(limit, now);
            list.Add(new LimitStatus(limit, start, end, allowance, used, reserved, Math.Max(0, allowance - used - reserved)));
        }

        return list;
    }

    private static (DateTimeOffset Start, DateTimeOffset End) AlignedBounds(BudgetLimit limit, DateTimeOffset now)
    {
        var (_, start, end) = BudgetWindows.Aligned(limit, now);
        return (start, end);
    }

    /// <summary>Per metric, the limit with the least left: for the <c>x-ratelimit-*</c> and <c>x-platform-budget-*</c> headers.</summary>
    public IReadOnlyList<BudgetHeadroom> Headroom(BudgetPolicy? policy, DateTimeOffset now)
    {
        if (policy is null)
        {
            return [];
        }

        var result = new List<BudgetHeadroom>(3);
        foreach (var limit in policy.Limits)
        {
            var (used, allowance) = Window(limit, now);
            var remaining = Math.Max(0, allowance - used - _reserved.Of(limit.Metric));
            var reset = ResetSeconds(limit, now);
            var index = result.FindIndex(h => h.Metric == limit.Metric);
            if (index < 0)
            {
                result.Add(new BudgetHeadroom(limit.Metric, allowance, remaining, reset));
            }
            else if (remaining < result[index].Remaining)
            {
                result[index] = new BudgetHeadroom(limit.Metric, allowance, remaining, reset);
            }
        }

        return result;
    }

    private List<BudgetAlert> Charge(BudgetAmount usage, BudgetPolicy? fallback, DateTimeOffset now)
    {
        _state.SettledUsd += usage.Usd;
        _state.SettledTokens += usage.Tokens;
        _state.SettledRequests += usage.Requests;
        var policy = Effective(_state, fallback);
        if (policy is null)
        {
            return [];
        }

        List<BudgetAlert>? alerts = null;
        List<int>? thresholds = null;
        foreach (var limit in policy.Limits)
        {
            var amount = usage.Of(limit.Metric);
            var counter = Counter(limit, now);
            if (limit.Rolling)
            {
                var (slot, _) = BudgetWindows.RollingSlot(limit, now);
                if (counter.Slots.Count > 0 && counter.Slots[^1].Slot == slot)
                {
                    counter.Slots[^1].Amount += amount;
                }
                else if (amount != 0)
                {
                    counter.Slots.Add(new RollingSlot { Slot = slot, Amount = amount });
                }
            }
            else
            {
                counter.Used += amount;
            }

            var (used, allowance) = Window(limit, now);
            var alertWindow = limit.Rolling ? now.UtcTicks / BudgetWindows.Length(limit).Ticks : counter.Window;
            if (counter.AlertWindow != alertWindow)
            {
                counter.AlertWindow = alertWindow;
                counter.AlertsSent = 0;
            }

            thresholds ??= [.. policy.EffectiveThresholds.Order()];
            while (counter.AlertsSent < thresholds.Count && allowance > 0 && used * 100 >= thresholds[counter.AlertsSent] * allowance)
            {
                (alerts ??= []).Add(new BudgetAlert(limit, thresholds[counter.AlertsSent], used, allowance, now));
                counter.AlertsSent++;
            }
        }

        return alerts ?? [];
    }

    /// <summary>The counter of a limit, moved to the window containing <paramref name="now"/> (rolling over what the last one left).</summary>
    private LimitCounter Counter(BudgetLimit limit, DateTimeOffset now)
    {
        if (!_state.Counters.TryGetValue(limit.CounterKey, out var counter))
        {
            counter = new LimitCounter();
            _state.Counters[limit.CounterKey] = counter;
        }

        if (limit.Rolling)
        {
            var (slot, _) = BudgetWindows.RollingSlot(limit, now);
            var oldest = slot - BudgetWindows.RollingSlots + 1;
            var drop = counter.Slots.FindIndex(s => s.Slot >= oldest);
            if (drop != 0)
            {
                counter.Slots.RemoveRange(0, drop < 0 ? counter.Slots.Count : drop);
            }

            return counter;
        }

        var (index, _, _) = BudgetWindows.Aligned(limit, now);
        if (counter.Window >= index)
        {
            // An earlier instant (a clock a little behind, after the grain moved silo) still counts in the latest window:
            // going back would empty it.
            return counter;
        }

        if (counter.FirstWindow == long.MinValue)
        {
            counter.FirstWindow = index;
            counter.Carry = 0;
        }
        else if (limit.Rollover && index > counter.Window)
        {
            // The previous window is the one we counted, or (when no request came in it) an unused one: a full window's amount.
            var previousUnused = index == counter.Window + 1 ? Math.Max(0, limit.Amount + counter.Carry - counter.Used) : limit.Amount;
            counter.Carry = Math.Min(limit.Amount, previousUnused);
        }
        else
        {
            counter.Carry = 0;
        }

        counter.Window = index;
        counter.Used = 0;
        return counter;
    }

    private (decimal Used, decimal Allowance) Window(BudgetLimit limit, DateTimeOffset now)
    {
        var counter = Counter(limit, now);
        return limit.Rolling
            ? (counter.Slots.Sum(s => s.Amount), limit.Amount)
            : (counter.Used, limit.Amount + counter.Carry);
    }

    private double ResetSeconds(BudgetLimit limit, DateTimeOffset now)
    {
        if (!limit.Rolling)
        {
            return Math.Max(0, (BudgetWindows.Aligned(limit, now).End - now).TotalSeconds);
        }

        var counter = Counter(limit, now);
        if (counter.Slots.Count == 0)
        {
            return 0;
        }

        var (_, slotTicks) = BudgetWindows.RollingSlot(limit, now);
        var leaves = new DateTimeOffset((counter.Slots[^1].Slot + BudgetWindows.RollingSlots) * slotTicks, TimeSpan.Zero);
        return Math.Max(0, (leaves - now).TotalSeconds);
    }

    /// <summary>When the request could fit: at the window's end, or when enough of a rolling window's oldest slots have left; a second when only reservations in flight stand in the way.</summary>
    private double RetryAfter(BudgetLimit limit, decimal used, decimal reserved, decimal need, decimal allowance, DateTimeOffset now)
    {
        if (used + need <= allowance)
        {
            return 1;
        }

        if (!limit.Rolling)
        {
            return Math.Max(1, (BudgetWindows.Aligned(limit, now).End - now).TotalSeconds);
        }

        var counter = Counter(limit, now);
        var (_, slotTicks) = BudgetWindows.RollingSlot(limit, now);
        var left = used;
        foreach (var slot in counter.Slots)
        {
            left -= slot.Amount;
            if (left + need <= allowance)
            {
                var at = new DateTimeOffset((slot.Slot + BudgetWindows.RollingSlots) * slotTicks, TimeSpan.Zero);
                return Math.Max(1, (at - now).TotalSeconds);
            }
        }

        return Math.Max(1, BudgetWindows.Length(limit).TotalSeconds);
    }

    private static string Describe(BudgetLimit limit, decimal used, decimal reserved, decimal need, decimal allowance, bool neverFits)
    {
        var window = limit.Window == BudgetWindow.Custom ? $"{limit.WindowSeconds} s" : limit.Window.ToString().ToLowerInvariant();
        var what = limit.Metric switch
        {
            BudgetMetric.Usd => $"${Money(allowance)} per {window}",
            BudgetMetric.Tokens => $"{allowance:0} tokens per {window}",
            _ => $"{allowance:0} requests per {window}",
        };
        if (neverFits)
        {
            return limit.Metric switch
            {
                BudgetMetric.Usd => $"This request could cost up to ${Money(need)}, more than the whole budget of {what}; "
                    + "lower max_tokens or shorten the messages.",
                BudgetMetric.Tokens => $"This request could use up to {need:0} tokens, more than the whole limit of {what}; "
                    + "lower max_tokens or shorten the messages.",
                _ => $"This request counts as {need:0} request, more than the whole limit of {what}.",
            };
        }

        var spent = limit.Metric == BudgetMetric.Usd ? $"${Money(used)} spent" : $"{used:0} used";
        var inFlight = reserved > 0 ? (limit.Metric == BudgetMetric.Usd ? $", ${Money(reserved)} held by requests in flight" : $", {reserved:0} held by requests in flight") : "";
        return $"Budget of {what} reached ({spent}{inFlight}).";
    }

    private static string Money(decimal value) => value.ToString("0.00####", System.Globalization.CultureInfo.InvariantCulture);
}
