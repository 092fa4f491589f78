using Platform.Budgets;

namespace Platform.Tests.Budgets;

public sealed class BudgetWindowsTests
{
    private static DateTimeOffset Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) =>
        new(year, month, day, hour, minute, second, TimeSpan.Zero);

    [Theory]
    [InlineData(BudgetWindow.Minute, "2027-03-10T12:34:56.789Z", "2027-03-10T12:34:00Z", "2027-03-10T12:35:00Z")]
    [InlineData(BudgetWindow.Hour, "2027-03-10T12:34:56.789Z", "2027-03-10T12:00:00Z", "2027-03-10T13:00:00Z")]
    [InlineData(BudgetWindow.Day, "2027-03-10T23:59:59.999Z", "2027-03-10T00:00:00Z", "2027-03-11T00:00:00Z")]
    [InlineData(BudgetWindow.Month, "2027-03-10T12:34:56Z", "2027-03-01T00:00:00Z", "2027-04-01T00:00:00Z")]
    public void Aligned_StandardWindows_StartAndEndAtUtcBoundaries(BudgetWindow window, string now, string start, string end)
    {
        var aligned = BudgetWindows.Aligned(new BudgetLimit(BudgetMetric.Usd, 1, window), DateTimeOffset.Parse(now));

        Assert.Equal(DateTimeOffset.Parse(start), aligned.Start);
        Assert.Equal(DateTimeOffset.Parse(end), aligned.End);
    }

    [Fact]
    public void Aligned_ANonUtcOffset_IsTheSameWindowAsItsUtcInstant()
    {
        var limit = new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day);
        var local = new DateTimeOffset(2027, 3, 11, 1, 30, 0, TimeSpan.FromHours(2)); // 2027-03-10T23:30Z

        var aligned = BudgetWindows.Aligned(limit, local);

        Assert.Equal(Utc(2027, 3, 10), aligned.Start);
        Assert.Equal(Utc(2027, 3, 11), aligned.End);
    }

    [Fact]
    public void Aligned_CustomWindow_IsAlignedToMultiplesOfItsLengthSinceTheEpoch()
    {
        var limit = new BudgetLimit(BudgetMetric.Tokens, 100, BudgetWindow.Custom, WindowSeconds: 900);

        var aligned = BudgetWindows.Aligned(limit, Utc(2027, 3, 10, 12, 44, 59));

        Assert.Equal(Utc(2027, 3, 10, 12, 30), aligned.Start);
        Assert.Equal(Utc(2027, 3, 10, 12, 45), aligned.End);
    }

    [Theory]
    [InlineData(BudgetWindow.Minute, null)]
    [InlineData(BudgetWindow.Hour, null)]
    [InlineData(BudgetWindow.Day, null)]
    [InlineData(BudgetWindow.Custom, 7L)]
    public void Aligned_ConsecutiveWindows_HaveConsecutiveIndexes_AndEachStartsWhereThePreviousEnded(BudgetWindow window, long? seconds)
    {
        var limit = new BudgetLimit(BudgetMetric.Requests, 1, window, seconds);
        var first = BudgetWindows.Aligned(limit, Utc(2027, 6, 30, 23, 59, 59));

        var second = BudgetWindows.Aligned(limit, first.End);
        var lastInstantOfFirst = BudgetWindows.Aligned(limit, first.End.AddTicks(-1));

        Assert.Equal(first.Index + 1, second.Index);
        Assert.Equal(first.End, second.Start);
        Assert.True(second.End > second.Start);
        Assert.Equal(first.Index, lastInstantOfFirst.Index);
    }

    [Fact]
    public void Aligned_BeforeTheEpoch_StillGivesTheWindowContainingTheInstant()
    {
        var limit = new BudgetLimit(BudgetMetric.Requests, 1, BudgetWindow.Hour);
        var now = Utc(1969, 12, 31, 23, 30);

        var aligned = BudgetWindows.Aligned(limit, now);

        Assert.Equal(Utc(1969, 12, 31, 23, 0), aligned.Start);
        Assert.Equal(DateTimeOffset.UnixEpoch, aligned.End);
        Assert.Equal(aligned.Index + 1, BudgetWindows.Aligned(limit, DateTimeOffset.UnixEpoch).Index);
    }

    [Fact]
    public void Aligned_Month_AtTheLastSecondOfJanuary_EndsAtFebruaryFirst_AndFebruaryIsTheNextIndex()
    {
        var limit = new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Month);

        var january = BudgetWindows.Aligned(limit, Utc(2027, 1, 31, 23, 59, 59));
        var february = BudgetWindows.Aligned(limit, Utc(2027, 2, 1));

        Assert.Equal(Utc(2027, 1, 1), january.Start);
        Assert.Equal(Utc(2027, 2, 1), january.End);
        Assert.Equal(Utc(2027, 2, 1), february.Start);
        Assert.Equal(Utc(2027, 3, 1), february.End);
        Assert.Equal(january.Index + 1, february.Index);
    }

    [Fact]
    public void Aligned_Month_FebruaryOfALeapYear_Has29Days()
    {
        var limit = new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Month);

        var february = BudgetWindows.Aligned(limit, Utc(2028, 2, 29, 23, 59, 59));

        Assert.Equal(Utc(2028, 2, 1), february.Start);
        Assert.Equal(Utc(2028, 3, 1), february.End);
        Assert.Equal(TimeSpan.FromDays(29), february.End - february.Start);
    }

    [Fact]
    public void Aligned_Month_DecemberToJanuary_ChangesTheYear_AndKeepsIndexesConsecutive()
    {
        var limit = new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Month);

        var december = BudgetWindows.Aligned(limit, Utc(2027, 12, 31, 23, 59, 59));
        var january = BudgetWindows.Aligned(limit, Utc(2028, 1, 1));

        Assert.Equal(Utc(2027, 12, 1), december.Start);
        Assert.Equal(Utc(2028, 1, 1), december.End);
        Assert.Equal(Utc(2028, 1, 1), january.Start);
        Assert.Equal(december.Index + 1, january.Index);
    }

    [Fact]
    public void RollingSlot_IsASixtiethOfTheWindow_AndConsecutiveSlotsAreConsecutive()
    {
        var hour = new BudgetLimit(BudgetMetric.Tokens, 100, BudgetWindow.Hour, Rolling: true);
        var now = Utc(2027, 3, 10, 12, 0, 30);

        var (slot, slotTicks) = BudgetWindows.RollingSlot(hour, now);
        var (next, _) = BudgetWindows.RollingSlot(hour, now.AddMinutes(1));

        Assert.Equal(TimeSpan.FromMinutes(1).Ticks, slotTicks);
        Assert.Equal(slot + 1, next);
        Assert.Equal(TimeSpan.FromDays(1).Ticks / BudgetWindows.RollingSlots,
            BudgetWindows.RollingSlot(hour with { Window = BudgetWindow.Day }, now).SlotTicks);
    }

    [Fact]
    public void Validate_AValidPolicy_HasNoError()
    {
        var policy = new BudgetPolicy(
            [
                new BudgetLimit(BudgetMetric.Usd, 10.25m, BudgetWindow.Month, Rollover: true),
                new BudgetLimit(BudgetMetric.Tokens, 1000, BudgetWindow.Minute, Rolling: true),
                new BudgetLimit(BudgetMetric.Requests, 60, BudgetWindow.Minute),
                new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Custom, WindowSeconds: 60, Rolling: true),
                new BudgetLimit(BudgetMetric.Usd, 0, BudgetWindow.Custom, WindowSeconds: BudgetWindows.MaxCustomSeconds),
            ],
            [25, 100]);

        Assert.Null(BudgetWindows.Validate(policy));
    }

    public static TheoryData<BudgetLimit, string, string> BadLimits => new()
    {
        { new BudgetLimit(BudgetMetric.Usd, -0.01m, BudgetWindow.Day), "limits[1].amount", "negative" },
        { new BudgetLimit(BudgetMetric.Usd, 1_000_000_000.01m, BudgetWindow.Day), "limits[1].amount", "at most" },
        { new BudgetLimit(BudgetMetric.Tokens, 1_000_000_000_001m, BudgetWindow.Day), "limits[1].amount", "at most" },
        { new BudgetLimit(BudgetMetric.Tokens, 10.5m, BudgetWindow.Day), "limits[1].amount", "whole number" },
        { new BudgetLimit(BudgetMetric.Requests, 0.1m, BudgetWindow.Day), "limits[1].amount", "whole number" },
        { new BudgetLimit((BudgetMetric)7, 1, BudgetWindow.Day), "limits[1].metric", "metric" },
        { new BudgetLimit(BudgetMetric.Usd, 1, (BudgetWindow)9), "limits[1].window", "window" },
        { new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Custom), "limits[1].windowSeconds", "windowSeconds" },
        { new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Custom, WindowSeconds: 0), "limits[1].windowSeconds", "windowSeconds" },
        { new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Custom, WindowSeconds: -60), "limits[1].windowSeconds", "windowSeconds" },
        {
            new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Custom, WindowSeconds: BudgetWindows.MaxCustomSeconds + 1),
            "limits[1].windowSeconds", "366 days"
        },
        {
            new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Custom, WindowSeconds: BudgetWindows.MinRollingCustomSeconds - 1, Rolling: true),
            "limits[1].windowSeconds", "windowSeconds"
        },
        { new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Hour, WindowSeconds: 3600), "limits[1].windowSeconds", "only for window 'custom'" },
        { new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day, Rolling: true, Rollover: true), "limits[1].rollover", "aligned" },
    };

    [Theory]
    [MemberData(nameof(BadLimits))]
    public void Validate_ABadLimit_NamesItsField(BudgetLimit bad, string field, string messagePart)
    {
        var policy = new BudgetPolicy([new BudgetLimit(BudgetMetric.Requests, 10, BudgetWindow.Minute), bad]);

        var error = BudgetWindows.Validate(policy);

        Assert.NotNull(error);
        Assert.Equal(field, error.Value.Field);
        Assert.Contains(messagePart, error.Value.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NoLimits_NamesLimits()
    {
        Assert.Equal("limits", BudgetWindows.Validate(new BudgetPolicy([]))?.Field);
        Assert.Equal("limits", BudgetWindows.Validate(new BudgetPolicy(null!))?.Field);
    }

    [Fact]
    public void Validate_ANullLimit_NamesItsIndex()
    {
        var policy = new BudgetPolicy([new BudgetLimit(BudgetMetric.Requests, 10, BudgetWindow.Minute), null!]);

        Assert.Equal("limits[1]", BudgetWindows.Validate(policy)?.Field);
    }

    [Fact]
    public void Validate_TwoLimitsOfTheSameMetricAndWindow_NamesTheSecond()
    {
        var policy = new BudgetPolicy(
        [
            new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Day),
            new BudgetLimit(BudgetMetric.Usd, 10, BudgetWindow.Day, Rolling: true),
            new BudgetLimit(BudgetMetric.Usd, 5, BudgetWindow.Day),
        ]);

        var error = BudgetWindows.Validate(policy);

        Assert.Equal("limits[2]", error?.Field);
        Assert.Contains("same metric and window", error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MoreThanTwentyLimits_IsRefused_AndTwentyAreAccepted()
    {
        var twenty = Enumerable.Range(1, 20).Select(i => new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Custom, WindowSeconds: i)).ToList();
        var twentyOne = twenty.Append(new BudgetLimit(BudgetMetric.Tokens, 1, BudgetWindow.Day)).ToList();

        Assert.Null(BudgetWindows.Validate(new BudgetPolicy(twenty)));
        var error = BudgetWindows.Validate(new BudgetPolicy(twentyOne));
        Assert.Equal("limits", error?.Field);
        Assert.Contains("20", error?.Message, StringComparison.Ordinal);
    }

    public static TheoryData<int[]> BadThresholds => new()
    {
        new[] { 0 },
        new[] { 101 },
        new[] { -5, 50 },
        new[] { 50, 50 },
        Enumerable.Range(1, 11).ToArray(),
    };

    [Theory]
    [MemberData(nameof(BadThresholds))]
    public void Validate_BadAlertThresholds_NamesAlertThresholds(int[] thresholds)
    {
        var policy = new BudgetPolicy([new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day)], thresholds);

        Assert.Equal("alertThresholds", BudgetWindows.Validate(policy)?.Field);
    }

    [Fact]
    public void Validate_TenDistinctThresholdsFromOneToAHundred_AreAccepted()
    {
        var policy = new BudgetPolicy([new BudgetLimit(BudgetMetric.Usd, 1, BudgetWindow.Day)], [1, 10, 20, 30, 40, 50, 60, 70, 80, 100]);

        Assert.Null(BudgetWindows.Validate(policy));
    }
}
