namespace Platform.Budgets;

/// <summary>One limit's counters: an aligned window's spend and carry, or a rolling window's slots.</summary>
[GenerateSerializer]
[Alias("Platform.Budgets.LimitCounter")]
public sealed class LimitCounter
{
    /// <summary>The aligned window the spend belongs to (<see cref="long.MinValue"/> before the first).</summary>
    [Id(0)]
    public long Window { get; set; } = long.MinValue;

    [Id(1)]
    public decimal Used { get; set; }

    /// <summary>Unused budget carried from the previous window (rollover).</summary>
    [Id(2)]
    public decimal Carry { get; set; }

    /// <summary>Rolling windows: spend per slot, oldest first.</summary>
    [Id(3)]
    public List<RollingSlot> Slots { get; set; } = [];

    /// <summary>How many of the policy's alert thresholds were already announced in <see cref="AlertWindow"/>.</summary>
    [Id(4)]
    public int AlertsSent { get; set; }

    [Id(5)]
    public long AlertWindow { get; set; } = long.MinValue;

    /// <summary>The first aligned window counted (a budget set mid-month carries nothing into its first window).</summary>
    [Id(6)]
    public long FirstWindow { get; set; } = long.MinValue;
}

[GenerateSerializer]
[Alias("Platform.Budgets.RollingSlot")]
public sealed class RollingSlot
{
    [Id(0)]
    public long Slot { get; set; }

    [Id(1)]
    public decimal Amount { get; set; }
}

/// <summary>A request in flight: its worst case, held until it settles or its holder stops renewing.</summary>
[GenerateSerializer]
[Alias("Platform.Budgets.Reservation")]
public sealed class Reservation
{
    [Id(0)]
    public string Id { get; set; } = "";

    [Id(1)]
    public BudgetAmount WorstCase { get; set; }

    [Id(2)]
    public SpendDimensions Dimensions { get; set; } = SpendDimensions.None;

    [Id(3)]
    public string Holder { get; set; } = "";

    [Id(4)]
    public int Seconds { get; set; }

    /// <summary>A silo's lease (a slice it admits requests from itself), not one request's worst case.</summary>
    [Id(5)]
    public bool Lease { get; set; }

    /// <summary>A lease's last sync applied: a sync repeated after its answer was lost is recognised by it.</summary>
    [Id(6)]
    public long LeaseSequence { get; set; }
}

/// <summary>Everything the ledger decides on; stored as part of the budget grain's state.</summary>
[GenerateSerializer]
[Alias("Platform.Budgets.BudgetLedgerState")]
public sealed class BudgetLedgerState
{
    [Id(0)]
    public BudgetPolicy? Policy { get; set; }

    [Id(1)]
    public Dictionary<string, LimitCounter> Counters { get; set; } = [];

    [Id(2)]
    public Dictionary<string, Reservation> Reservations { get; set; } = [];

    /// <summary>When each holder (silo) was last heard from.</summary>
    [Id(3)]
    public Dictionary<string, DateTimeOffset> Holders { get; set; } = [];

    [Id(4)]
    public decimal SettledUsd { get; set; }

    [Id(5)]
    public long SettledRequests { get; set; }

    [Id(6)]
    public long ExpiredCount { get; set; }

    /// <summary>Ids of recently expired reservations and of releases that came before their reservation, oldest first (bounded).</summary>
    [Id(7)]
    public List<string> RecentlyExpired { get; set; } = [];

    [Id(8)]
    public long SettledTokens { get; set; }

    /// <summary>Per holder, the highest settlement sequence applied: a repeated settlement is recognised without remembering its id.</summary>
    [Id(9)]
    public Dictionary<string, long> SettledThrough { get; set; } = [];
}

/// <summary>A threshold a window's spend crossed, to announce once.</summary>
public sealed record BudgetAlert(BudgetLimit Limit, int Threshold, decimal Used, decimal Allowance, DateTimeOffset WindowStart);
