using Platform.Deployments;
using Platform.Evaluations;

namespace Platform.Tests.Evaluations;

public sealed class PromotionGateTests
{
    private static readonly EvaluationGate Gate = new("qa", [new GateThreshold("exact", MinPassRate: 0.8), new GateThreshold("f1", MinMean: 0.5)]);

    [Fact]
    public void Decide_WithoutACandidateRun_Blocks()
    {
        var verdict = PromotionGate.Decide(Gate, null, null, null);
        Assert.False(verdict.Passed);
        Assert.Contains("no finished evaluation run of dataset 'qa'", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_WhenThresholdsHold_AndNothingRegressed_Passes_NamingTheRuns()
    {
        var verdict = PromotionGate.Decide(Gate, Run("run_c", passRate: 0.9, mean: 0.7), Run("run_b", 0.9, 0.7), [Comparison("exact", ComparisonVerdicts.Equal)]);
        Assert.True(verdict.Passed, verdict.Reason);
        Assert.Equal("run_c", verdict.Run);
        Assert.Equal("run_b", verdict.BaselineRun);
        Assert.Contains(verdict.Findings, f => f.StartsWith("exact: pass rate 0.9 >= 0.8", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0.7, 0.7, "exact: pass rate 0.7 < 0.8")]
    [InlineData(0.9, 0.4, "f1: mean 0.4 < 0.5")]
    public void Decide_WhenAThresholdIsMissed_Blocks_SayingWhich(double passRate, double mean, string finding)
    {
        var verdict = PromotionGate.Decide(Gate, Run("run_c", passRate, mean), Run("run_b", 0.9, 0.7), [Comparison("exact", ComparisonVerdicts.Equal)]);
        Assert.False(verdict.Passed);
        Assert.Contains(finding, verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_WhenAnEvaluatorRegressedSignificantly_Blocks()
    {
        var verdict = PromotionGate.Decide(Gate, Run("run_c", 0.9, 0.7), Run("run_b", 0.95, 0.8), [Comparison("exact", ComparisonVerdicts.Regressed)]);
        Assert.False(verdict.Passed);
        Assert.Contains("exact: regressed against run run_b", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_WithoutAStableRunToCompare_BlocksOnlyWhenRegressionsAreChecked()
    {
        Assert.False(PromotionGate.Decide(Gate, Run("run_c", 0.9, 0.7), null, null).Passed);
        Assert.True(PromotionGate.Decide(Gate with { RequireNoRegression = false }, Run("run_c", 0.9, 0.7), null, null).Passed);
    }

    [Fact]
    public void Decide_WhenTheRunDidNotScoreAThresholdsEvaluator_Blocks()
    {
        var verdict = PromotionGate.Decide(Gate with { Thresholds = [new GateThreshold("judge", MinMean: 0.5)] }, Run("run_c", 0.9, 0.7), Run("run_b", 0.9, 0.7), []);
        Assert.False(verdict.Passed);
        Assert.Contains("judge: not scored by run run_c", verdict.Reason, StringComparison.Ordinal);
    }

    private static EvaluationRunInfo Run(string id, double passRate, double mean) => new(
        id,
        new EvaluationRunSpec("qa", 1, new EvaluationTarget(new Release("ok")), [new EvaluatorSpec("exact", "exact_match"), new EvaluatorSpec("f1", "token_f1")]),
        new Release("ok"),
        EvaluationRunStatus.Completed,
        DateTimeOffset.UnixEpoch,
        "key",
        DateTimeOffset.UnixEpoch,
        10,
        10,
        0,
        new RunAggregates(10, 0, [new EvaluatorAggregate("exact", 10, passRate, (long)(passRate * 10), passRate, 0), new EvaluatorAggregate("f1", 10, mean, 5, 0.5, 0)],
            1, 2, 3, 1, 3, 10, 10, 100),
        null);

    private static EvaluatorComparison Comparison(string evaluator, string verdict) =>
        new(evaluator, 10, 0.9, 0.8, -0.1, -0.2, -0.05, 0.01, verdict, 1, [], 0, [], 0, 0, 0.9, 0.8, 1, 0);
}
