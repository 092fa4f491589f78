using Platform.Deployments;

namespace Platform.Evaluations;

/// <summary>
/// What a run evaluates: a release given outright (model route, optional prompt version or label, parameters), or the
/// release a deployment's arm serves when the run starts (<see cref="Deployment"/> and <see cref="Arm"/>). Either way the
/// release is resolved once, at the start, and recorded on the run: a rollout during the run does not change it.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.EvaluationTarget")]
public sealed record EvaluationTarget(
    [property: Id(0)] Release? Release = null,
    [property: Id(1)] string? Deployment = null,
    [property: Id(2)] string? Arm = null);

/// <summary>A run as requested: a dataset version against a target, scored by evaluators.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.EvaluationRunSpec")]
public sealed record EvaluationRunSpec(
    [property: Id(0)] string Dataset,
    [property: Id(1)] int DatasetVersion,
    [property: Id(2)] EvaluationTarget Target,
    [property: Id(3)] IReadOnlyList<EvaluatorSpec> Evaluators,
    [property: Id(4)] int Concurrency = 8,
    [property: Id(5)] int MaxItemRetries = 2,
    [property: Id(6)] string? Name = null);

[GenerateSerializer]
[Alias("Platform.Evaluations.EvaluationRunStatus")]
public enum EvaluationRunStatus
{
    Pending = 0,
    Running = 1,
    Completed = 2,
    Failed = 3,
    Cancelled = 4,
}

/// <summary>One evaluator's score of one item: null when it could not score (the reason says why).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.ItemScore")]
public sealed record ItemScore(
    [property: Id(0)] string Evaluator,
    [property: Id(1)] double? Score,
    [property: Id(2)] bool Passed,
    [property: Id(3)] string? Reason);

/// <summary>
/// One item's outcome: the output (cut to <see cref="MaxOutputChars"/>), what the call cost, and every evaluator's score. An
/// item whose call failed for good carries <see cref="Error"/> and no scores.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.EvaluationItemResult")]
public sealed record EvaluationItemResult(
    [property: Id(0)] int Index,
    [property: Id(1)] string ItemId,
    [property: Id(2)] string? Output,
    [property: Id(3)] double LatencyMs,
    [property: Id(4)] long InputTokens,
    [property: Id(5)] long OutputTokens,
    [property: Id(6)] long CostNanoUsd,
    [property: Id(7)] long JudgeCostNanoUsd,
    [property: Id(8)] string? Error,
    [property: Id(9)] IReadOnlyList<ItemScore> Scores,
    [property: Id(10)] int Attempts = 1)
{
    public const int MaxOutputChars = 8_000;

    /// <summary>Most UTF-8 bytes of a stored output, of all its reasons together, and of its error: 50 results fit one storage record.</summary>
    public const int MaxOutputBytes = 8 * 1024;

    public const int MaxReasonsBytes = 4 * 1024;

    public const int MaxErrorBytes = 1024;

    /// <summary>
    /// The result as stored: output, reasons and error cut to their byte budgets, so a page of
    /// <see cref="IEvaluationResultPageGrain.PageSize"/> results stays well under an Azure Table entity's 1 MB, whatever the script.
    /// </summary>
    public EvaluationItemResult Bounded()
    {
        var perReason = Scores.Count == 0 ? MaxReasonsBytes : MaxReasonsBytes / Scores.Count;
        return this with
        {
            Output = Cut(Output, MaxOutputChars, MaxOutputBytes),
            Error = Cut(Error, MaxErrorBytes, MaxErrorBytes),
            Scores = Scores.Any(s => s.Reason is { Length: > 0 } r && System.Text.Encoding.UTF8.GetByteCount(r) > perReason)
                ? [.. Scores.Select(s => s with { Reason = Cut(s.Reason, perReason, perReason) })]
                : Scores,
        };
    }

    /// <summary>The text cut to at most <paramref name="maxChars"/> characters and <paramref name="maxBytes"/> UTF-8 bytes, never inside a surrogate pair.</summary>
    public static string? Cut(string? text, int maxChars, int maxBytes)
    {
        if (text is null || (text.Length <= maxChars && text.Length * 3 <= maxBytes))
        {
            return text;
        }

        var bytes = 0;
        var end = 0;
        while (end < text.Length && end < maxChars)
        {
            var width = char.IsHighSurrogate(text[end]) && end + 1 < text.Length && char.IsLowSurrogate(text[end + 1]) ? 2 : 1;
            var size = width == 2 ? 4 : text[end] < 0x80 ? 1 : text[end] < 0x800 ? 2 : 3;
            if (bytes + size > maxBytes || end + width > maxChars)
            {
                break;
            }

            bytes += size;
            end += width;
        }

        return end == text.Length ? text : text[..end];
    }
}

/// <summary>A run as it stands: its request, the release it resolved to, progress, and the aggregates of the items scored so far.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.EvaluationRunInfo")]
public sealed record EvaluationRunInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] EvaluationRunSpec Spec,
    [property: Id(2)] Release Release,
    [property: Id(3)] EvaluationRunStatus Status,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] string CreatedBy,
    [property: Id(6)] DateTimeOffset? FinishedAt,
    [property: Id(7)] int TotalItems,
    [property: Id(8)] int CompletedItems,
    [property: Id(9)] int FailedItems,
    [property: Id(10)] RunAggregates? Aggregates,
    [property: Id(11)] string? Error,
    [property: Id(12)] long JudgeCostNanoUsd = 0);

/// <summary>A page of a run's item results in dataset order; <see cref="Next"/> is the offset of the next page (null on the last).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Evaluations.EvaluationResultPage")]
public sealed record EvaluationResultPage(
    [property: Id(0)] IReadOnlyList<EvaluationItemResult> Items,
    [property: Id(1)] int? Next);
