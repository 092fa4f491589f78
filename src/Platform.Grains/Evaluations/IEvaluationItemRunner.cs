using Platform.Deployments;

namespace Platform.Evaluations;

/// <summary>
/// Runs one dataset item against a run's release and scores it: the host's side of a run (the gateway's pipeline: prompt
/// rendering, budgets, the provider call with its retries, the evaluators and the judge). The grain only orchestrates.
/// </summary>
public interface IEvaluationItemRunner
{
    /// <summary>
    /// The item's result. A call that failed for good is a result with <see cref="EvaluationItemResult.Error"/>; a budget
    /// refusal is an <see cref="EvaluationHaltedException"/>: the run stops there, and the item stays to be run.
    /// </summary>
    Task<EvaluationItemResult> RunAsync(EvaluationRunContext run, DatasetItem item, int index, CancellationToken cancellationToken);
}

/// <summary>What every item of a run shares: whose it is, what it runs, how it is scored.</summary>
public sealed record EvaluationRunContext(string Tenant, string RunId, string KeyId, EvaluationRunSpec Spec, Release Release);

/// <summary>The run cannot go on (its budget refused a call): it ends as failed with this message.</summary>
public sealed class EvaluationHaltedException(string message) : Exception(message);
