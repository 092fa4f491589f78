using System.Globalization;

namespace Platform.Deployments;

public enum RolloutAction
{
    None,
    Advance,
    Promote,
    Rollback,
}

public sealed record RolloutVerdict(RolloutAction Action, string Reason, int? NextWeight, string Evidence);

/// <summary>
/// The rollout decision, as a plain function of the two arms' windows and the policy.
/// <list type="bullet">
/// <item>Nothing is decided until both arms have <c>MinSamplesPerArm</c> requests.</item>
/// <item>Error rate: rollback when the canary's rate exceeds stable's by more than the threshold and a one-sided
/// two-proportion z-test (unpooled standard error) rejects "canary no worse than stable + threshold" at
/// <c>ConfidenceZ</c> (2.33 = 99%): noise alone does not trigger. A breach that is not significant yet holds
/// the canary at its step (no advance) until the evidence decides.</item>
/// <item>Latency: rollback when canary p95 exceeds stable p95 by more than the relative threshold and by more
/// than <c>MinLatencyIncreaseMs</c> (histogram quantiles, 5% resolution; the sample minimum guards against noise).</item>
/// <item>Cost per successful request and mean quality: rollback beyond their thresholds; quality additionally
/// needs Welch's t statistic above <c>ConfidenceZ</c>.</item>
/// <item>Otherwise, after <c>MinDwellSeconds</c> at the current step: advance to the next step, or promote at 100%.</item>
/// </list>
/// </summary>
public static class RolloutEvaluator
{
    public static RolloutVerdict Evaluate(ArmWindow stable, ArmWindow canary, RolloutPolicy policy, int weight, TimeSpan atStepFor)
    {
        var evidence = Evidence(stable, canary);
        if (stable.Requests < policy.MinSamplesPerArm || canary.Requests < policy.MinSamplesPerArm)
        {
            return new RolloutVerdict(RolloutAction.None, $"waiting for {policy.MinSamplesPerArm} samples per arm", null, evidence);
        }

        // A breach that is not yet significant holds the canary where it is: no rollback, but no advance either.
        string? suspected = null;
        var errorIncrease = canary.ErrorRate - stable.ErrorRate;
        if (errorIncrease > policy.MaxErrorRateIncrease)
        {
            var z = ZScore(canary.Errors, canary.Requests, stable.Errors, stable.Requests, policy.MaxErrorRateIncrease);
            if (z > policy.ConfidenceZ)
            {
                return new RolloutVerdict(RolloutAction.Rollback,
                    F($"error rate {canary.ErrorRate:P1} vs stable {stable.ErrorRate:P1} (+{errorIncrease * 100:F1} points > {policy.MaxErrorRateIncrease * 100:F1}; z={z:F2} > {policy.ConfidenceZ:F2})"),
                    0, evidence);
            }

            suspected = F($"error rate +{errorIncrease * 100:F1} points, not yet significant (z={z:F2})");
        }

        var stableP95 = stable.Latency.Quantile(0.95);
        var canaryP95 = canary.Latency.Quantile(0.95);
        // Relative and absolute: sub-millisecond jitter on a fast model must not count as a 30% regression.
        if (stable.Latency.Count > 0 && canary.Latency.Count > 0
            && canaryP95 > stableP95 * (1 + policy.MaxP95LatencyIncrease)
            && canaryP95 - stableP95 > policy.MinLatencyIncreaseMs)
        {
            return new RolloutVerdict(RolloutAction.Rollback,
                F($"p95 latency {canaryP95:F1} ms vs stable {stableP95:F1} ms (+{(canaryP95 / stableP95 - 1) * 100:F0}% > {policy.MaxP95LatencyIncrease * 100:F0}%)"),
                0, evidence);
        }

        if (stable.MeanCost > 0 && canary.MeanCost > stable.MeanCost * (1 + policy.MaxCostIncrease))
        {
            return new RolloutVerdict(RolloutAction.Rollback,
                F($"cost per request ${canary.MeanCost:F6} vs stable ${stable.MeanCost:F6} (+{(canary.MeanCost / stable.MeanCost - 1) * 100:F0}% > {policy.MaxCostIncrease * 100:F0}%)"),
                0, evidence);
        }

        if (stable.MeanQuality is { } sq && canary.MeanQuality is { } cq && sq - cq > policy.MaxQualityDecrease)
        {
            if (stable.QualityCount < policy.MinSamplesPerArm || canary.QualityCount < policy.MinSamplesPerArm)
            {
                suspected ??= F($"quality -{sq - cq:F3}, waiting for {policy.MinSamplesPerArm} scored samples per arm");
            }
            else
            {
                var t = Welch(stable, canary, policy.MaxQualityDecrease);
                if (t > policy.ConfidenceZ)
                {
                    return new RolloutVerdict(RolloutAction.Rollback,
                        F($"mean quality {cq:F3} vs stable {sq:F3} (-{sq - cq:F3} > {policy.MaxQualityDecrease:F3}; t={t:F2})"), 0, evidence);
                }

                suspected ??= F($"quality -{sq - cq:F3}, not yet significant (t={t:F2})");
            }
        }

        if (suspected is not null)
        {
            return new RolloutVerdict(RolloutAction.None, "holding: " + suspected, null, evidence);
        }

        if (atStepFor.TotalSeconds < policy.MinDwellSeconds)
        {
            return new RolloutVerdict(RolloutAction.None, F($"healthy; dwelling at {weight}% ({atStepFor.TotalSeconds:F0}/{policy.MinDwellSeconds:F0} s)"), null, evidence);
        }

        var steps = policy.EffectiveSteps;
        var next = steps.FirstOrDefault(s => s > weight);
        if (next == 0 || next >= 100)
        {
            return policy.AutoPromote
                ? new RolloutVerdict(RolloutAction.Promote, F($"healthy at {weight}% for {atStepFor.TotalSeconds:F0} s: promote"), 100, evidence)
                : new RolloutVerdict(RolloutAction.None, "healthy; waiting for a manual promotion", null, evidence);
        }

        return new RolloutVerdict(RolloutAction.Advance, F($"healthy at {weight}% for {atStepFor.TotalSeconds:F0} s: advance to {next}%"), next, evidence);
    }

    /// <summary>
    /// One-sided z for H0: p_canary - p_stable &lt;= margin, with the unpooled (Wald) standard error: pooling
    /// assumes equal rates, which a non-zero margin contradicts, and overstates significance near the threshold.
    /// </summary>
    public static double ZScore(long canaryErrors, long canaryN, long stableErrors, long stableN, double margin)
    {
        var pc = (double)canaryErrors / canaryN;
        var ps = (double)stableErrors / stableN;
        var variance = pc * (1 - pc) / canaryN + ps * (1 - ps) / stableN;
        var se = Math.Sqrt(Math.Max(variance, 0.25 / ((double)canaryN * canaryN)));
        return (pc - ps - margin) / se;
    }

    private static double Welch(ArmWindow stable, ArmWindow canary, double margin)
    {
        var se = Math.Sqrt(stable.QualityVariance / Math.Max(1, stable.QualityCount) + canary.QualityVariance / Math.Max(1, canary.QualityCount));
        return se <= 0 ? double.PositiveInfinity : (stable.MeanQuality!.Value - canary.MeanQuality!.Value - margin) / se;
    }

    private static string Evidence(ArmWindow stable, ArmWindow canary) => F(
        $"stable: n={stable.Requests} errors={stable.ErrorRate:P1} p95={stable.Latency.Quantile(0.95):F1}ms cost=${stable.MeanCost:F6} quality={stable.MeanQuality?.ToString("F3", CultureInfo.InvariantCulture) ?? "-"}; canary: n={canary.Requests} errors={canary.ErrorRate:P1} p95={canary.Latency.Quantile(0.95):F1}ms cost=${canary.MeanCost:F6} quality={canary.MeanQuality?.ToString("F3", CultureInfo.InvariantCulture) ?? "-"}");

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
