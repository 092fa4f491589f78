namespace Platform.Budgets;

/// <summary>
/// Window arithmetic from timestamps alone: which window an instant falls in, where it starts and ends. Nothing here
/// depends on a timer having fired, so a window that ended while no silo ran is over when the next request comes.
/// </summary>
public static class BudgetWindows
{
    /// <summary>Rolling windows are counted in this many slots (a rolling hour in minutes, a rolling day in 24-minute slots).</summary>
    public const int RollingSlots = 60;

    public const long MinCustomSeconds = 1;

    /// <summary>Rolling custom windows are at least a minute (slots of at least a second).</summary>
    public const long MinRollingCustomSeconds = 60;

    public const long MaxCustomSeconds = 366L * 24 * 3600;

    /// <summary>The window's length; a month is 30 days when rolling (an aligned month has its calendar length).</summary>
    public static TimeSpan Length(BudgetLimit limit) => limit.Window switch
    {
        BudgetWindow.Minute => TimeSpan.FromMinutes(1),
        BudgetWindow.Hour => TimeSpan.FromHours(1),
        BudgetWindow.Day => TimeSpan.FromDays(1),
        BudgetWindow.Month => TimeSpan.FromDays(30),
        _ => TimeSpan.FromSeconds(limit.WindowSeconds ?? 1),
    };

    /// <summary>The aligned window containing <paramref name="now"/>: its index (consecutive windows have consecutive indexes), start and end.</summary>
    public static (long Index, DateTimeOffset Start, DateTimeOffset End) Aligned(BudgetLimit limit, DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        if (limit.Window == BudgetWindow.Month)
        {
            var start = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
            return ((utc.Year * 12L) + utc.Month - 1, start, start.AddMonths(1));
        }

        var ticks = Length(limit).Ticks;
        var since = utc.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var index = since >= 0 ? since / ticks : ((since + 1) / ticks) - 1;
        var begin = DateTimeOffset.UnixEpoch.AddTicks(index * ticks);
        return (index, begin, begin.AddTicks(ticks));
    }

    /// <summary>The rolling slot containing <paramref name="now"/> and the slots' length.</summary>
    public static (long Slot, long SlotTicks) RollingSlot(BudgetLimit limit, DateTimeOffset now)
    {
        var slotTicks = Math.Max(1, Length(limit).Ticks / RollingSlots);
        return (now.UtcTicks / slotTicks, slotTicks);
    }

    /// <summary>A reason the limit cannot work, naming the field, or null when it is valid.</summary>
    public static (string Field, string Message)? Validate(BudgetLimit limit, int index)
    {
        var at = $"limits[{index}]";
        if (!Enum.IsDefined(limit.Metric))
        {
            return ($"{at}.metric", "metric must be usd, tokens or requests.");
        }

        if (!Enum.IsDefined(limit.Window))
        {
            return ($"{at}.window", "window must be minute, hour, day, month or custom.");
        }

        if (limit.Amount < 0)
        {
            return ($"{at}.amount", "amount must not be negative.");
        }

        var max = limit.Metric == BudgetMetric.Usd ? 1_000_000_000m : 1_000_000_000_000m;
        if (limit.Amount > max)
        {
            return ($"{at}.amount", $"amount must be at most {max:0} {(limit.Metric == BudgetMetric.Usd ? "USD" : limit.Metric.ToString().ToLowerInvariant())}.");
        }

        if (limit.Metric != BudgetMetric.Usd && decimal.Truncate(limit.Amount) != limit.Amount)
        {
            return ($"{at}.amount", "amount must be a whole number of tokens or requests.");
        }

        if (limit.Window == BudgetWindow.Custom)
        {
            var min = limit.Rolling ? MinRollingCustomSeconds : MinCustomSeconds;
            if (limit.WindowSeconds is not { } seconds || seconds < min || seconds > MaxCustomSeconds)
            {
                return ($"{at}.windowSeconds", $"a custom window needs windowSeconds between {min} and {MaxCustomSeconds} (366 days).");
            }
        }
        else if (limit.WindowSeconds is not null)
        {
            return ($"{at}.windowSeconds", "windowSeconds is only for window 'custom'.");
        }

        if (limit.Rollover && limit.Rolling)
        {
            return ($"{at}.rollover", "rollover needs an aligned window: a rolling window has no unused remainder to carry.");
        }

        return null;
    }

    /// <summary>A reason the policy cannot work, naming the field, or null when it is valid.</summary>
    public static (string Field, string Message)? Validate(BudgetPolicy policy)
    {
        if (policy.Limits is null || policy.Limits.Count == 0)
        {
            return ("limits", "limits must list at least one limit (to remove a scope's limits, DELETE them).");
        }

        if (policy.Limits.Count > 20)
        {
            return ("limits", "a scope has at most 20 limits.");
        }

        for (var i = 0; i < policy.Limits.Count; i++)
        {
            if (policy.Limits[i] is null)
            {
                return ($"limits[{i}]", "a limit must be an object.");
            }

            if (Validate(policy.Limits[i], i) is { } error)
            {
                return error;
            }

            if (policy.Limits.Take(i).Any(l => l.CounterKey == policy.Limits[i].CounterKey))
            {
                return ($"limits[{i}]", "two limits have the same metric and window; keep one.");
            }
        }

        if (policy.AlertThresholds is { } thresholds
            && (thresholds.Count > 10 || thresholds.Any(t => t is < 1 or > 100) || thresholds.Distinct().Count() != thresholds.Count))
        {
            return ("alertThresholds", "alertThresholds must be at most 10 distinct percentages between 1 and 100.");
        }

        return null;
    }
}
