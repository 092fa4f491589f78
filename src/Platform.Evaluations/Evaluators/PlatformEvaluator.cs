using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;

namespace Platform.Evaluations.Evaluators;

/// <summary>What an evaluator looks at for one item, each text already cut to <see cref="EvaluatorLimits.MaxTextChars"/>.</summary>
public sealed record EvaluationInput(
    string Output,
    int OutputLength,
    bool OutputCut,
    string? Expected,
    string? Context,
    IReadOnlyList<ChatMessage> Messages,
    ChatConfiguration? ChatConfiguration)
{
    /// <summary>The user's request as plain text (the last user message), cut to <see cref="EvaluatorLimits.MaxTextChars"/>.</summary>
    public string Request
    {
        get
        {
            var text = Messages.TryGetUserRequest(out var request) ? request.Text : Messages.RenderText();
            return EvaluatorLimits.Cut(text ?? "", EvaluatorLimits.MaxTextChars);
        }
    }
}

/// <summary>A score in [0,1] (null when it could not be computed) and the reason in plain words.</summary>
public readonly record struct Score(double? Value, string Reason)
{
    public static Score Missing(string reason) => new(null, reason);
}

/// <summary>Bounds on the work any evaluator does for one item, whatever the input.</summary>
public static class EvaluatorLimits
{
    /// <summary>Characters of output, expected output and context an evaluator looks at.</summary>
    public const int MaxTextChars = 100_000;

    /// <summary>Characters of a metric's reason.</summary>
    public const int MaxReasonChars = 1_000;

    /// <summary>Match timeout of regular expressions that need backtracking.</summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(100);

    public static string Cut(string text, int max) => text.Length <= max ? text : text[..max];

    /// <summary>Cuts text for quoting in a reason, with an ellipsis when cut.</summary>
    public static string Quote(string text, int max = 60)
    {
        var flat = text.ReplaceLineEndings(" ");
        return flat.Length <= max ? flat : string.Concat(flat.AsSpan(0, max), "...");
    }
}

/// <summary>
/// Base of the platform's evaluators: reads the output, the expected output (<see cref="ExpectedOutputContext"/>)
/// and the reference (<see cref="ReferenceContext"/>) with their lengths capped, lets the kind compute a score,
/// and returns one <see cref="NumericMetric"/> named after the spec, interpreted against its threshold.
/// A score that cannot be computed (missing input, failed judge) is a metric without value and an error
/// diagnostic, never an exception; only cancellation throws.
/// </summary>
public abstract class PlatformEvaluator : IEvaluator
{
    protected PlatformEvaluator(EvaluatorSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec;
        Threshold = spec.EffectiveThreshold;
        EvaluationMetricNames = [spec.Name];
    }

    public EvaluatorSpec Spec { get; }

    public string Name => Spec.Name;

    public double Threshold { get; }

    public IReadOnlyCollection<string> EvaluationMetricNames { get; }

    public async ValueTask<EvaluationResult> EvaluateAsync(
        IEnumerable<ChatMessage> messages,
        ChatResponse modelResponse,
        ChatConfiguration? chatConfiguration = null,
        IEnumerable<EvaluationContext>? additionalContext = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelResponse);
        var contexts = additionalContext as IReadOnlyCollection<EvaluationContext> ?? additionalContext?.ToList() ?? [];
        var output = modelResponse.Text ?? "";
        var expected = contexts.OfType<ExpectedOutputContext>().FirstOrDefault()?.ExpectedOutput;
        var reference = contexts.OfType<ReferenceContext>().FirstOrDefault()?.Context;
        var input = new EvaluationInput(
            EvaluatorLimits.Cut(output, EvaluatorLimits.MaxTextChars),
            output.Length,
            output.Length > EvaluatorLimits.MaxTextChars,
            expected is null ? null : EvaluatorLimits.Cut(expected, EvaluatorLimits.MaxTextChars),
            reference is null ? null : EvaluatorLimits.Cut(reference, EvaluatorLimits.MaxTextChars),
            messages as IReadOnlyList<ChatMessage> ?? messages?.ToList() ?? [],
            chatConfiguration);

        var metric = new NumericMetric(Name);
        Score score;
        try
        {
            score = await ScoreAsync(input, metric, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // A kind that throws on some output (a library's own limits) scores nothing for that item, with the reason.
        catch (Exception e)
#pragma warning restore CA1031
        {
            score = Score.Missing("the output could not be scored: " + EvaluatorLimits.Quote(e.Message, 200));
        }
        var reason = score.Reason;
        if (input.OutputCut && !SeesWholeOutput)
        {
            reason += $" (only the first {EvaluatorLimits.MaxTextChars} characters of the output were checked)";
        }

        metric.Value = score.Value is { } v ? Math.Clamp(v, 0, 1) : null;
        metric.Reason = EvaluatorLimits.Quote(reason, EvaluatorLimits.MaxReasonChars);
        if (metric.Value is { } value)
        {
            var failed = value < Threshold;
            var rating = failed ? (value < Threshold / 2 ? EvaluationRating.Unacceptable : EvaluationRating.Poor)
                : value >= 1 ? EvaluationRating.Exceptional : EvaluationRating.Good;
            metric.Interpretation = new EvaluationMetricInterpretation(
                rating, failed, $"score {value:0.###} {(failed ? "<" : ">=")} threshold {Threshold:0.###}");
        }
        else
        {
            metric.AddDiagnostics(EvaluationDiagnostic.Error(metric.Reason));
            metric.Interpretation = new EvaluationMetricInterpretation(EvaluationRating.Inconclusive, failed: true, metric.Reason);
        }

        return new EvaluationResult(metric);
    }

    /// <summary>True for kinds that judge the whole output by its length alone (no truncation note).</summary>
    protected virtual bool SeesWholeOutput => false;

    /// <summary>Computes the score; may add metadata (e.g. the judge's usage) to <paramref name="metric"/>.</summary>
    protected abstract ValueTask<Score> ScoreAsync(EvaluationInput input, NumericMetric metric, CancellationToken cancellationToken);
}
