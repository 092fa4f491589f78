using Platform.Evaluations;
using Platform.Evaluations.Comparisons;

namespace Platform.Tests.Evaluations;

public sealed class RunComparerTests
{
    [Fact]
    public void PairedTTest_MatchesStudentsSleepData()
    {
        // Cushny & Peebles' sleep data as analysed by Student (1908), R's `sleep` data set:
        // t.test(extra ~ group, data = sleep, paired = TRUE) gives mean difference -1.58, t = -4.0621, df = 9,
        // p-value = 0.002833, 95 percent confidence interval -2.4598858 -0.7001142.
        double[] drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
        double[] drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
        var baseline = drug2.Select((v, i) => (v, i)).ToDictionary(x => "p" + x.i, x => x.v);
        var candidate = drug1.Select((v, i) => (v, i)).ToDictionary(x => "p" + x.i, x => x.v);

        var c = RunComparer.Compare("extra", baseline, candidate);

        Assert.Equal(10, c.Paired);
        Assert.Equal(-1.58, c.MeanDifference, 9);
        Assert.Equal(0.002833, c.PValue, 6);
        Assert.Equal(-2.4598858, c.CiLow, 6);
        Assert.Equal(-0.7001142, c.CiHigh, 6);
        Assert.Equal(ComparisonVerdicts.Regressed, c.Verdict);
        Assert.Equal(9, c.RegressedCount); // one patient (p4) unchanged
        Assert.Equal("p8", c.Regressions[0].ItemId); // the largest drop first: 4.6 -> 0.0
        Assert.Equal(0, c.ImprovedCount);
    }

    [Theory]
    [InlineData(0.0, 1, 1.0)] // t = 0: P(|T| >= 0) = 1
    [InlineData(12.706204736, 1, 0.05)] // t(0.975, 1) from the t table
    [InlineData(2.228138852, 10, 0.05)] // t(0.975, 10)
    [InlineData(1.959963985, 1e6, 0.05)] // the normal limit
    public void StudentT_TwoSidedP_MatchesTheTable(double t, double df, double p) =>
        Assert.Equal(p, StudentT.TwoSidedP(t, df), 6);

    [Fact]
    public void Compare_FindsAPlantedRegression_AndListsTheItems()
    {
        var random = new Random(7);
        var baseline = Enumerable.Range(0, 200).ToDictionary(i => $"item-{i:000}", _ => 0.5 + (0.5 * random.NextDouble()));
        var candidate = baseline.ToDictionary(kv => kv.Key, kv => kv.Value);
        var planted = new[] { 3, 17, 42, 99, 150, 151, 152, 160, 170, 199 }.Select(i => $"item-{i:000}").ToList();
        foreach (var id in planted)
        {
            candidate[id] = baseline[id] - 0.5;
        }

        var passedBase = baseline.ToDictionary(kv => kv.Key, kv => kv.Value >= 0.5);
        var passedCand = candidate.ToDictionary(kv => kv.Key, kv => kv.Value >= 0.5);
        var c = RunComparer.Compare("quality", baseline, candidate, passedBase, passedCand);

        Assert.Equal(ComparisonVerdicts.Regressed, c.Verdict);
        Assert.True(c.PValue < 0.05);
        Assert.Equal(-0.025, c.MeanDifference, 9); // 10 items x -0.5 / 200
        Assert.True(c.CiHigh < 0);
        Assert.Equal(10, c.RegressedCount);
        Assert.Equal(planted.Order(), c.Regressions.Select(r => r.ItemId).Order());
        Assert.Equal(10, c.NewlyFailing);
        Assert.Equal(1.0, c.BaselinePassRate);
        Assert.Equal(0.95, c.CandidatePassRate);
    }

    [Fact]
    public void Compare_IdenticalRuns_AreEqualWithPOne()
    {
        var scores = Enumerable.Range(0, 50).ToDictionary(i => "i" + i, i => (i % 7) / 7.0);
        var c = RunComparer.Compare("f1", scores, new Dictionary<string, double>(scores));
        Assert.Equal(ComparisonVerdicts.Equal, c.Verdict);
        Assert.Equal(1.0, c.PValue);
        Assert.Equal(0.0, c.MeanDifference);
        Assert.Equal((0.0, 0.0), (c.CiLow, c.CiHigh));
        Assert.Empty(c.Regressions);
        Assert.Empty(c.Improvements);
    }

    [Fact]
    public void Compare_SignificantButTinyDifference_IsEqual()
    {
        // Every item up by 0.01 (with a little noise): the test is significant, the effect under the 0.02 minimum.
        var random = new Random(3);
        var baseline = Enumerable.Range(0, 300).ToDictionary(i => "i" + i, _ => 0.5);
        var candidate = baseline.ToDictionary(kv => kv.Key, _ => 0.51 + (0.002 * (random.NextDouble() - 0.5)));
        var c = RunComparer.Compare("f1", baseline, candidate);
        Assert.True(c.PValue < 1e-6);
        Assert.Equal(ComparisonVerdicts.Equal, c.Verdict);
        Assert.Equal(300, c.ImprovedCount);
        Assert.Equal(100, c.Improvements.Count); // at most 100 listed

        var strict = RunComparer.Compare("f1", baseline, candidate, options: new ComparisonOptions { MinEffect = 0.005 });
        Assert.Equal(ComparisonVerdicts.Improved, strict.Verdict);
    }

    [Fact]
    public void Compare_NoisyButUnbiasedCandidate_IsEqual()
    {
        var random = new Random(11);
        var baseline = Enumerable.Range(0, 100).ToDictionary(i => "i" + i, _ => random.NextDouble());
        var candidate = baseline.ToDictionary(kv => kv.Key, kv => kv.Value);
        var ids = candidate.Keys.ToList();
        for (var i = 0; i < ids.Count; i += 2)
        {
            // Pairs of items move by the same amount in opposite directions: mean difference exactly 0.
            var delta = 0.1 * random.NextDouble();
            candidate[ids[i]] += delta;
            candidate[ids[i + 1]] -= delta;
        }

        var c = RunComparer.Compare("judge", baseline, candidate);
        Assert.Equal(ComparisonVerdicts.Equal, c.Verdict);
        Assert.True(c.PValue > 0.5);
        Assert.True(c.CiLow < 0 && c.CiHigh > 0);
    }

    [Fact]
    public void Compare_PairsByItemId_AndCountsTheUnpaired()
    {
        var baseline = new Dictionary<string, double> { ["a"] = 1, ["b"] = 0.5, ["only-base"] = 1 };
        var candidate = new Dictionary<string, double> { ["a"] = 0, ["b"] = 0.5, ["only-cand"] = 0, ["only-cand-2"] = 1 };
        var c = RunComparer.Compare("x", baseline, candidate);
        Assert.Equal(2, c.Paired);
        Assert.Equal(1, c.BaselineOnly);
        Assert.Equal(2, c.CandidateOnly);
        Assert.Equal(0.75, c.BaselineMean);
        Assert.Equal(0.25, c.CandidateMean);
        Assert.Equal("a", Assert.Single(c.Regressions).ItemId);
    }
}
