using System.Globalization;
using Platform.Deployments;
using Platform.Evaluations.Comparisons;

namespace Platform.Evaluations;

/// <summary>The gate's rule, with no Orleans types: thresholds on the candidate's run, then no significant regression.</summary>
public static class PromotionGate
{
    public static GateVerdict Decide(
        EvaluationGate gate, EvaluationRunInfo? candidate, EvaluationRunInfo? baseline, IReadOnlyList<EvaluatorComparison>? comparisons)
    {
        if (candidate is null)
        {
            return new GateVerdict(false, $"no finished evaluation run of dataset '{gate.Dataset}' on this release", null, null, []);
        }

        var findings = new List<string>();
        var failures = new List<string>();
        void Found(string finding, bool failing)
        {
            findings.Add(finding);
            if (failing)
            {
                failures.Add(finding);
            }
        }

        foreach (var threshold in gate.Thresholds ?? [])
        {
            var aggregate = candidate.Aggregates?.Evaluators.FirstOrDefault(e => e.Name == threshold.Evaluator);
            if (aggregate is null)
            {
                Found($"{threshold.Evaluator}: not scored by run {candidate.Id}", true);
                continue;
            }

            if (threshold.MinMean is { } minMean)
            {
                var ok = aggregate.MeanScore is { } mean && mean >= minMean;
                Found($"{threshold.Evaluator}: mean {Format(aggregate.MeanScore)} {(ok ? ">=" : "<")} {Format(minMean)}", !ok);
            }

            if (threshold.MinPassRate is { } minPassRate)
            {
                var ok = aggregate.PassRate is { } rate && rate >= minPassRate;
                Found($"{threshold.Evaluator}: pass rate {Format(aggregate.PassRate)} {(ok ? ">=" : "<")} {Format(minPassRate)}", !ok);
            }
        }

        if (gate.RequireNoRegression)
        {
            if (baseline is null)
            {
                Found($"no finished run of the stable release on dataset '{gate.Dataset}' v{candidate.Spec.DatasetVersion} to compare with", true);
            }
            else
            {
                foreach (var comparison in comparisons ?? [])
                {
                    Found(
                        $"{comparison.Evaluator}: {comparison.Verdict} against run {baseline.Id} (difference {Format(comparison.MeanDifference)}, "
                        + $"95% CI [{Format(comparison.CiLow)}, {Format(comparison.CiHigh)}], p={Format(comparison.PValue)}, {comparison.RegressedCount} items regressed)",
                        comparison.Verdict == ComparisonVerdicts.Regressed);
                }
            }
        }

        var reason = failures.Count > 0
            ? "evaluation gate failed: " + string.Join("; ", failures)
            : $"evaluation gate passed (run {candidate.Id})";
        return new GateVerdict(failures.Count == 0, reason, candidate.Id, baseline?.Id, findings);
    }

    private static string Format(double? value) => value?.ToString("0.####", CultureInfo.InvariantCulture) ?? "none";
}

/// <summary>Finds the runs a gate looks at and compares them.</summary>
public static class GateRuns
{
    public static async Task<GateVerdict> CheckAsync(IGrainFactory grains, string tenant, EvaluationGate gate, Release candidate, Release stable)
    {
        var summaries = await grains.GetGrain<IEvaluationRunIndexGrain>(tenant).ListAsync(gate.Dataset, IEvaluationRunIndexGrain.MaxRuns);
        EvaluationRunInfo? candidateRun = null;
        var completed = new List<EvaluationRunInfo>();
        foreach (var summary in summaries.Where(s => s.Status == EvaluationRunStatus.Completed))
        {
            if (await grains.GetGrain<IEvaluationRunGrain>(EvaluationKeys.Run(tenant, summary.Id)).GetAsync() is { } run)
            {
                completed.Add(run);
                if (candidateRun is null && run.Release == candidate)
                {
                    candidateRun = run;
                }
            }
        }

        var baseline = candidateRun is null
            ? null
            : completed.FirstOrDefault(r => r.Release == stable && r.Spec.DatasetVersion == candidateRun.Spec.DatasetVersion && r.Id != candidateRun.Id);
        IReadOnlyList<EvaluatorComparison>? comparisons = null;
        if (candidateRun is not null && baseline is not null && gate.RequireNoRegression)
        {
            comparisons = await RunScores.CompareAsync(grains, tenant, candidateRun, baseline);
        }

        return PromotionGate.Decide(gate, candidateRun, baseline, comparisons);
    }
}

/// <summary>A run's per-item scores, read page by page, and the comparison of two runs' scores.</summary>
public static class RunScores
{
    public static async Task<IReadOnlyList<EvaluatorComparison>> CompareAsync(IGrainFactory grains, string tenant, EvaluationRunInfo candidate, EvaluationRunInfo baseline)
    {
        var (candidateScores, candidatePassed) = await ReadAsync(grains, tenant, candidate);
        var (baselineScores, baselinePassed) = await ReadAsync(grains, tenant, baseline);
        return [.. candidate.Spec.Evaluators
            .Select(e => e.Name)
            .Where(n => baseline.Spec.Evaluators.Any(b => b.Name == n))
            .Select(n => RunComparer.Compare(
                n,
                baselineScores.GetValueOrDefault(n) ?? [],
                candidateScores.GetValueOrDefault(n) ?? [],
                baselinePassed.GetValueOrDefault(n),
                candidatePassed.GetValueOrDefault(n)))];
    }

    /// <summary>Each evaluator's scores and pass flags of a run, by item id.</summary>
    public static async Task<(Dictionary<string, Dictionary<string, double>> Scores, Dictionary<string, Dictionary<string, bool>> Passed)> ReadAsync(
        IGrainFactory grains, string tenant, EvaluationRunInfo run)
    {
        var scores = new Dictionary<string, Dictionary<string, double>>(StringComparer.Ordinal);
        var passed = new Dictionary<string, Dictionary<string, bool>>(StringComparer.Ordinal);
        var pages = (run.TotalItems + IEvaluationResultPageGrain.PageSize - 1) / IEvaluationResultPageGrain.PageSize;
        for (var page = 0; page < pages; page++)
        {
            foreach (var result in await grains.GetGrain<IEvaluationResultPageGrain>(EvaluationKeys.ResultPage(tenant, run.Id, page)).GetAsync())
            {
                foreach (var score in result.Scores)
                {
                    if (score.Score is not { } value)
                    {
                        continue;
                    }

                    if (!scores.TryGetValue(score.Evaluator, out var byItem))
                    {
                        scores[score.Evaluator] = byItem = new Dictionary<string, double>(StringComparer.Ordinal);
                        passed[score.Evaluator] = new Dictionary<string, bool>(StringComparer.Ordinal);
                    }

                    byItem[result.ItemId] = value;
                    passed[score.Evaluator][result.ItemId] = score.Passed;
                }
            }
        }

        return (scores, passed);
    }
}
