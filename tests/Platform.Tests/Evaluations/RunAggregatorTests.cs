using Platform.Evaluations.Comparisons;

namespace Platform.Tests.Evaluations;

public sealed class RunAggregatorTests
{
    [Fact]
    public void Percentiles_OfOneToTenThousand_AreWithinOnePercent()
    {
        // Nearest-rank percentiles of the latencies 1, 2, ..., 10000 ms are 5000, 9500 and 9900.
        var aggregator = new RunAggregator();
        foreach (var latency in Enumerable.Range(1, 10_000).OrderBy(i => (i * 7919) % 10_007))
        {
            aggregator.Add(latency, 10, 5, 1_000, error: false);
        }

        var snapshot = aggregator.Snapshot();
        AssertWithin(5000, snapshot.LatencyP50Ms);
        AssertWithin(9500, snapshot.LatencyP95Ms);
        AssertWithin(9900, snapshot.LatencyP99Ms);
        Assert.Equal(5000.5, snapshot.LatencyMeanMs!.Value, 6);
        Assert.Equal(10_000, snapshot.LatencyMaxMs);
        Assert.Equal(100_000, snapshot.TokensIn);
        Assert.Equal(50_000, snapshot.TokensOut);
        Assert.Equal(10_000_000, snapshot.CostNanoUsd);
    }

    [Fact]
    public void Percentiles_OfALongTailedSample_AreWithinOnePercent_AndStateStaysSmall()
    {
        var random = new Random(5);
        var latencies = Enumerable.Range(0, 100_000).Select(_ => Math.Exp(random.NextDouble() * 12) * 0.05).ToArray(); // 0.05 ms .. 8 s
        var aggregator = new RunAggregator();
        foreach (var latency in latencies)
        {
            aggregator.Add(latency, 1, 1, 1, error: false);
        }

        var sorted = latencies.Order().ToArray();
        var snapshot = aggregator.Snapshot();
        AssertWithin(sorted[49_999], snapshot.LatencyP50Ms); // rank ceil(0.50 * 100000) = 50000
        AssertWithin(sorted[94_999], snapshot.LatencyP95Ms);
        AssertWithin(sorted[98_999], snapshot.LatencyP99Ms);
        Assert.True(aggregator.ToState().LatencyBuckets.Count < 1_500, "the histogram grew with the item count");
    }

    [Fact]
    public void Evaluators_MeanAndPassRate_OverScoredItems_ErrorsKeptOutOfLatency()
    {
        var aggregator = new RunAggregator();
        aggregator.Add(100, 10, 10, 5, false, [new("f1", 1.0, true), new("pii", 1.0, true)]);
        aggregator.Add(200, 10, 10, 5, false, [new("f1", 0.5, true), new("pii", 0.0, false)]);
        aggregator.Add(300, 10, 10, 5, false, [new("f1", null, false), new("pii", 1.0, true)]);
        aggregator.Add(9_999, 0, 0, 0, true);

        var snapshot = aggregator.Snapshot();
        Assert.Equal(4, snapshot.Count);
        Assert.Equal(1, snapshot.Errors);
        var f1 = snapshot.Evaluators.Single(e => e.Name == "f1");
        Assert.Equal((2L, 0.75, 2L, 1.0, 1L), (f1.Scored, f1.MeanScore!.Value, f1.Passed, f1.PassRate!.Value, f1.Unscored));
        var pii = snapshot.Evaluators.Single(e => e.Name == "pii");
        Assert.Equal(2.0 / 3, pii.MeanScore!.Value, 9);
        Assert.Equal(2.0 / 3, pii.PassRate!.Value, 9);
        Assert.Equal(300, snapshot.LatencyMaxMs);
        Assert.Equal(["f1", "pii"], snapshot.Evaluators.Select(e => e.Name));
    }

    [Fact]
    public void State_RoundTrips_AndKeepsAggregating()
    {
        var first = new RunAggregator();
        var whole = new RunAggregator();
        for (var i = 0; i < 1_000; i++)
        {
            var scores = new EvaluatorItemScore[] { new("judge", (i % 5) / 4.0, i % 5 >= 3) };
            (i < 600 ? first : null)?.Add(i + 0.5, 3, 4, 7, i % 50 == 0, scores);
            whole.Add(i + 0.5, 3, 4, 7, i % 50 == 0, scores);
        }

        var resumed = new RunAggregator(first.ToState());
        for (var i = 600; i < 1_000; i++)
        {
            resumed.Add(i + 0.5, 3, 4, 7, i % 50 == 0, [new("judge", (i % 5) / 4.0, i % 5 >= 3)]);
        }

        Assert.Equivalent(whole.Snapshot(), resumed.Snapshot(), strict: true);
    }

    [Fact]
    public void EmptyRun_HasNoPercentiles()
    {
        var snapshot = new RunAggregator().Snapshot();
        Assert.Equal(0, snapshot.Count);
        Assert.Null(snapshot.LatencyP50Ms);
        Assert.Empty(snapshot.Evaluators);
    }

    [Fact]
    public void ZeroLatencies_ReportZero()
    {
        var aggregator = new RunAggregator();
        for (var i = 0; i < 10; i++)
        {
            aggregator.Add(0, 0, 0, 0, false);
        }

        Assert.Equal(0, aggregator.Snapshot().LatencyP99Ms);
    }

    private static void AssertWithin(double expected, double? actual)
    {
        Assert.NotNull(actual);
        Assert.True(Math.Abs(actual.Value - expected) <= 0.01 * expected, $"expected {expected} within 1%, got {actual}");
    }
}
