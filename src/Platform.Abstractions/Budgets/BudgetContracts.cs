namespace Platform.Budgets;

/// <summary>Who a budget applies to. Stored by number: never renumber.</summary>
[GenerateSerializer]
[Alias("Platform.Budgets.BudgetScope")]
public enum BudgetScope
{
    /// <summary>Everything the tenant sends.</summary>
    Tenant = 0,

    /// <summary>One API key (id: the key id).</summary>
    Key = 1,

    /// <summary>One deployment (id: its name), whichever arm serves.</summary>
    Deployment = 2,

    /// <summary>One end user (id: the request's <c>user</c>, or the <c>x-platform-user</c> header).</summary>
    User = 3,
}

/// <summary>What a limit counts. Stored by number: never renumber.</summary>
[GenerateSerializer]
[Alias("Platform.Budgets.BudgetMetric")]
public enum BudgetMetric
{
    /// <summary>Spend in US dollars at the route's price.</summary>
    Usd = 0,

    /// <summary>Input plus output tokens.</summary>
    Tokens = 1,

    /// <summary>Requests (each request that reached a provider counts one).</summary>
    Requests = 2,
}

/// <summary>How long a limit's window is. Stored by number: never renumber.</summary>
[GenerateSerializer]
[Alias("Platform.Budgets.BudgetWindow")]
public enum BudgetWindow
{
    Minute = 0,
    Hour = 1,
    Day = 2,

    /// <summary>A calendar month in UTC (aligned), or 30 days (rolling).</summary>
    Month = 3,

    /// <summary><see cref="BudgetLimit.WindowSeconds"/> long, aligned to multiples of it since 1970-01-01 UTC.</summary>
    Custom = 4,
}

/// <summary>
/// One limit of a scope: at most <see cref="Amount"/> of <see cref="Metric"/> per window. An aligned window starts at
/// UTC boundaries (the minute, hour, day or month); a rolling one is the last window's length up to now (counted in
/// sixtieths of the window). With <see cref="Rollover"/>, what an aligned window left unused is added to the next one
/// (at most one window's amount).
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.BudgetLimit")]
public sealed record BudgetLimit(
    [property: Id(0)] BudgetMetric Metric,
    [property: Id(1)] decimal Amount,
    [property: Id(2)] BudgetWindow Window,
    [property: Id(3)] long? WindowSeconds = null,
    [property: Id(4)] bool Rolling = false,
    [property: Id(5)] bool Rollover = false)
{
    /// <summary>Identifies a limit's counters across policy changes: the same metric and window keep their spend.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string CounterKey => $"{Metric}/{Window}/{WindowSeconds}/{(Rolling ? "rolling" : "aligned")}";
}

/// <summary>A scope's limits and the fractions of them (percent) at which a webhook and an audit entry say so, once per window.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.BudgetPolicy")]
public sealed record BudgetPolicy(
    [property: Id(0)] IReadOnlyList<BudgetLimit> Limits,
    [property: Id(1)] IReadOnlyList<int>? AlertThresholds = null)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<int> EffectiveThresholds => AlertThresholds ?? [50, 80, 100];
}

/// <summary>What a request is charged on, for the spend report: the key, deployment, model route and end user.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.SpendDimensions")]
public sealed record SpendDimensions(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string? Deployment,
    [property: Id(2)] string Model,
    [property: Id(3)] string? User)
{
    /// <summary>No dimensions: for scopes that keep no report, and amounts that are not charged.</summary>
    public static readonly SpendDimensions None = new("", null, "", null);
}

/// <summary>An amount of each metric: a reservation's worst case, or a request's real usage.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.BudgetAmount")]
public readonly record struct BudgetAmount(
    [property: Id(0)] decimal Usd,
    [property: Id(1)] long Tokens,
    [property: Id(2)] int Requests)
{
    public decimal Of(BudgetMetric metric) => metric switch
    {
        BudgetMetric.Usd => Usd,
        BudgetMetric.Tokens => Tokens,
        _ => Requests,
    };

    public static BudgetAmount operator +(BudgetAmount a, BudgetAmount b) => new(a.Usd + b.Usd, a.Tokens + b.Tokens, a.Requests + b.Requests);

    public static BudgetAmount operator -(BudgetAmount a, BudgetAmount b) => new(a.Usd - b.Usd, a.Tokens - b.Tokens, a.Requests - b.Requests);

    public static BudgetAmount Min(BudgetAmount a, BudgetAmount b) =>
        new(Math.Min(a.Usd, b.Usd), Math.Min(a.Tokens, b.Tokens), Math.Min(a.Requests, b.Requests));

    /// <summary>Each metric at least zero.</summary>
    public BudgetAmount NonNegative() => new(Math.Max(0, Usd), Math.Max(0, Tokens), Math.Max(0, Requests));
}

/// <summary>Reserve a request's worst case. <paramref name="DefaultPolicy"/> applies when the scope has no policy of its own (end users).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.ReserveOperation")]
public sealed record ReserveOperation(
    [property: Id(0)] string ReservationId,
    [property: Id(1)] BudgetAmount WorstCase,
    [property: Id(2)] SpendDimensions Dimensions,
    [property: Id(3)] BudgetPolicy? DefaultPolicy = null);

/// <summary>
/// Replace a reservation by the request's real usage (or, with a null usage, release it unspent). <paramref name="Sequence"/>
/// increases with every settlement a holder sends (0: none), so a batch repeated after its answer was lost is applied once.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.SettleOperation")]
public sealed record SettleOperation(
    [property: Id(0)] string ReservationId,
    [property: Id(1)] BudgetAmount? Usage,
    [property: Id(2)] SpendDimensions Dimensions,
    [property: Id(3)] long Sequence = 0);

/// <summary>
/// What one silo sends a budget grain in one call: the settlements and reservations that queued up while its previous
/// call was in flight (so one grain turn serves many requests), from the holder named, whose reservations expire
/// <paramref name="ReservationSeconds"/> after the holder was last heard from.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.BudgetBatch")]
public sealed record BudgetBatch(
    [property: Id(0)] string Holder,
    [property: Id(1)] int ReservationSeconds,
    [property: Id(2)] IReadOnlyList<SettleOperation> Settles,
    [property: Id(3)] IReadOnlyList<ReserveOperation> Reserves,
    [property: Id(4)] LeaseOperation? Lease = null);

/// <summary>Spend charged against a lease, with what it is charged on (for the tenant's report).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.LeaseCharge")]
public sealed record LeaseCharge(
    [property: Id(0)] SpendDimensions Dimensions,
    [property: Id(1)] BudgetAmount Usage);

/// <summary>
/// A silo's lease on a scope: a slice of the budget the grain holds for it, from which the silo admits requests itself.
/// The grain first charges <paramref name="Charges"/> (the real usage of requests the silo served from the lease since
/// its last sync; they come out of the slice), then sets the slice to <paramref name="Hold"/>: shrinking always succeeds,
/// growing only while the scope is far from its limits. A hold of zero ends the lease. <paramref name="Sequence"/> works
/// as a settlement's does, so a sync repeated after its answer was lost is applied once.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.LeaseOperation")]
public sealed record LeaseOperation(
    [property: Id(0)] string LeaseId,
    [property: Id(1)] IReadOnlyList<LeaseCharge> Charges,
    [property: Id(2)] BudgetAmount Hold,
    [property: Id(3)] long Sequence);

/// <summary>
/// A lease's answer: the slice now held (what was asked, or less when growing was refused), the scope's headroom, and
/// whether the grain wants leases back (a request elsewhere was refused while slices were held, or the scope is near a limit).
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.LeaseResult")]
public sealed record LeaseResult(
    [property: Id(0)] string LeaseId,
    [property: Id(1)] BudgetAmount Held,
    [property: Id(2)] IReadOnlyList<BudgetHeadroom> Headroom,
    [property: Id(3)] bool Reclaim);

/// <summary>One metric's state for response headers: its tightest limit, what is left of it and when its window resets.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.BudgetHeadroom")]
public sealed record BudgetHeadroom(
    [property: Id(0)] BudgetMetric Metric,
    [property: Id(1)] decimal Limit,
    [property: Id(2)] decimal Remaining,
    [property: Id(3)] double ResetSeconds);

/// <summary>A reservation's answer: granted, or refused with the reason and when to retry.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.ReserveResult")]
public sealed record ReserveResult(
    [property: Id(0)] string ReservationId,
    [property: Id(1)] bool Granted,
    [property: Id(2)] string? Reason,
    [property: Id(3)] double RetryAfterSeconds,
    [property: Id(4)] IReadOnlyList<BudgetHeadroom> Headroom,
    [property: Id(5)] bool NeverFits = false,
    [property: Id(6)] BudgetMetric? RefusedMetric = null,
    [property: Id(7)] bool LeasesHeld = false);

[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.BudgetBatchResult")]
public sealed record BudgetBatchResult(
    [property: Id(0)] IReadOnlyList<ReserveResult> Reserves,
    [property: Id(1)] long IndexVersion,
    [property: Id(2)] LeaseResult? Lease = null);

/// <summary>One limit's current window.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.LimitStatus")]
public sealed record LimitStatus(
    [property: Id(0)] BudgetLimit Limit,
    [property: Id(1)] DateTimeOffset WindowStart,
    [property: Id(2)] DateTimeOffset WindowEnd,
    [property: Id(3)] decimal Allowance,
    [property: Id(4)] decimal Used,
    [property: Id(5)] decimal Reserved,
    [property: Id(6)] decimal Remaining);

/// <summary>A scope's policy, its windows now, and what is in flight.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.BudgetStatus")]
public sealed record BudgetStatus(
    [property: Id(0)] BudgetScope Scope,
    [property: Id(1)] string Id,
    [property: Id(2)] BudgetPolicy? Policy,
    [property: Id(3)] IReadOnlyList<LimitStatus> Windows,
    [property: Id(4)] int OutstandingReservations,
    [property: Id(5)] BudgetAmount Reserved,
    [property: Id(6)] decimal SettledUsd,
    [property: Id(7)] long SettledRequests,
    [property: Id(8)] long ExpiredReservations,
    [property: Id(9)] int Leases,
    [property: Id(10)] BudgetAmount Leased);

/// <summary>Spend of one hour on one combination of key, deployment, model and user (kept by the tenant's budget grain).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.SpendRollup")]
public sealed record SpendRollup(
    [property: Id(0)] DateTimeOffset Hour,
    [property: Id(1)] SpendDimensions Dimensions,
    [property: Id(2)] decimal Usd,
    [property: Id(3)] long Tokens,
    [property: Id(4)] long Requests);

/// <summary>Which scopes of a tenant have limits, and the limits every end user gets; versioned so silos can tell when theirs is stale.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Budgets.BudgetIndex")]
public sealed record BudgetIndex(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<string> Keys,
    [property: Id(2)] IReadOnlyList<string> Deployments,
    [property: Id(3)] IReadOnlyList<string> Users,
    [property: Id(4)] BudgetPolicy? DefaultUserPolicy,
    [property: Id(5)] bool TenantHasPolicy);
