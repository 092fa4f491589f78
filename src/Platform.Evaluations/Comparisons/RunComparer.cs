namespace Platform.Evaluations.Comparisons;

/// <summary>When a difference counts: significance level, smallest mean difference that matters, items listed.</summary>
public sealed record ComparisonOptions
{
    public static ComparisonOptions Default { get; } = new();

    /// <summary>Significance level of the two-sided paired t-test. Default 0.05.</summary>
    public double Alpha { get; init; } = 0.05;

    /// <summary>Smallest |mean difference| reported as a regression or improvement. Default 0.02 (two points of a 0-1 score).</summary>
    public double MinEffect { get; init; } = 0.02;

    /// <summary>Items listed per direction, largest changes first. Default 100.</summary>
    public int MaxListed { get; init; } = 100;

    /// <summary>A per-item change smaller than this is no change. Default 1e-9.</summary>
    public double ItemTolerance { get; init; } = 1e-9;
}

/// <summary>
/// Compares one evaluator's per-item scores of a candidate run with a baseline run of the same dataset version.
/// Items are paired by id (items scored in only one run are counted, not compared). The mean difference
/// (candidate - baseline) gets a Student-t 95% (1 - alpha) confidence interval and a two-sided paired t-test;
/// the verdict is regressed / improved only when p &lt; alpha and |difference| &gt;= the minimum effect.
/// When every paired difference is the same, the test degenerates: p = 1 if they are all zero, else p = 0.
/// </summary>
public static class RunComparer
{
    public static EvaluatorComparison Compare(
        string evaluator,
        IReadOnlyDictionary<string, double> baseline,
        IReadOnlyDictionary<string, double> candidate,
        IReadOnlyDictionary<string, bool>? baselinePassed = null,
        IReadOnlyDictionary<string, bool>? candidatePassed = null,
        ComparisonOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(candidate);
        options ??= ComparisonOptions.Default;

        var changes = new List<ItemScoreChange>();
        var differences = new List<double>();
        double baselineSum = 0, candidateSum = 0;
        int newlyFailing = 0, newlyPassing = 0, basePassCount = 0, candPassCount = 0, passPairs = 0;
        foreach (var (id, b) in baseline)
        {
            if (!candidate.TryGetValue(id, out var c) || !double.IsFinite(b) || !double.IsFinite(c))
            {
                continue;
            }

            differences.Add(c - b);
            baselineSum += b;
            candidateSum += c;
            if (Math.Abs(c - b) > options.ItemTolerance)
            {
                changes.Add(new ItemScoreChange(id, b, c));
            }

            if (baselinePassed is not null && candidatePassed is not null &&
                baselinePassed.TryGetValue(id, out var bp) && candidatePassed.TryGetValue(id, out var cp))
            {
                passPairs++;
                basePassCount += bp ? 1 : 0;
                candPassCount += cp ? 1 : 0;
                newlyFailing += bp && !cp ? 1 : 0;
                newlyPassing += !bp && cp ? 1 : 0;
            }
        }

        var n = differences.Count;
        var paired = baseline.Keys.Count(candidate.ContainsKey);
        var (mean, low, high, p) = PairedTTest(differences, options.Alpha);
        var significant = p < options.Alpha && Math.Abs(mean) >= options.MinEffect;
        var verdict = !significant ? ComparisonVerdicts.Equal : mean < 0 ? ComparisonVerdicts.Regressed : ComparisonVerdicts.Improved;

        var regressions = changes.Where(x => x.Difference < 0).ToList();
        var improvements = changes.Where(x => x.Difference > 0).ToList();
        return new EvaluatorComparison(
            evaluator,
            n,
            n == 0 ? 0 : baselineSum / n,
            n == 0 ? 0 : candidateSum / n,
            mean,
            low,
            high,
            p,
            verdict,
            regressions.Count,
            Top(regressions, options.MaxListed),
            improvements.Count,
            Top(improvements, options.MaxListed),
            baseline.Count - paired,
            candidate.Count - paired,
            passPairs == 0 ? null : (double)basePassCount / passPairs,
            passPairs == 0 ? null : (double)candPassCount / passPairs,
            newlyFailing,
            newlyPassing);
    }

    /// <summary>
    /// Mean of the differences, its two-sided (1 - alpha) Student-t confidence interval, and the p-value of
    /// the paired t-test of "mean difference = 0". Fewer than two differences: p = 1 and an interval of the mean alone.
    /// </summary>
    public static (double Mean, double CiLow, double CiHigh, double P) PairedTTest(IReadOnlyList<double> differences, double alpha = 0.05)
    {
        ArgumentNullException.ThrowIfNull(differences);
        var n = differences.Count;
        if (n == 0)
        {
            return (0, 0, 0, 1);
        }

        var mean = differences.Average();
        if (n < 2)
        {
            return (mean, mean, mean, 1);
        }

        var sumSquares = 0.0;
        foreach (var d in differences)
        {
            sumSquares += (d - mean) * (d - mean);
        }

        var sd = Math.Sqrt(sumSquares / (n - 1));
        var se = sd / Math.Sqrt(n);
        if (se <= 1e-12 * Math.Max(1, Math.Abs(mean)))
        {
            // Every difference the same: no spread to test against.
            return (mean, mean, mean, Math.Abs(mean) <= 1e-12 ? 1 : 0);
        }

        var df = n - 1;
        var t = mean / se;
        var p = StudentT.TwoSidedP(t, df);
        var margin = StudentT.Quantile(1 - (alpha / 2), df) * se;
        return (mean, mean - margin, mean + margin, p);
    }

    private static List<ItemScoreChange> Top(List<ItemScoreChange> changes, int max) =>
        [.. changes.OrderByDescending(x => Math.Abs(x.Difference)).ThenBy(x => x.ItemId, StringComparer.Ordinal).Take(max)];
}
