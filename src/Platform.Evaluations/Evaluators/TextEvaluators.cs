using System.Text.RegularExpressions;
using Microsoft.Extensions.AI.Evaluation;

namespace Platform.Evaluations.Evaluators;

/// <summary>exact_match: the trimmed output equals the trimmed expected output (or <see cref="EvaluatorSpec.Value"/>).</summary>
public sealed class ExactMatchEvaluator(EvaluatorSpec spec) : PlatformEvaluator(spec)
{
    protected override ValueTask<Score> ScoreAsync(EvaluationInput input, NumericMetric metric, CancellationToken cancellationToken)
    {
        var expected = Spec.Value ?? input.Expected;
        if (expected is null)
        {
            return ValueTask.FromResult(Score.Missing("the item has no expected output to compare with"));
        }

        var comparison = Spec.IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var equal = input.OutputLength == input.Output.Length && string.Equals(input.Output.Trim(), expected.Trim(), comparison);
        return ValueTask.FromResult(equal
            ? new Score(1, "the output matches the expected output")
            : new Score(0, $"the output '{EvaluatorLimits.Quote(input.Output.Trim())}' differs from the expected " +
                $"'{EvaluatorLimits.Quote(expected.Trim())}'"));
    }
}

/// <summary>contains / not_contains: the output does (or does not) contain <see cref="EvaluatorSpec.Value"/>.</summary>
public sealed class ContainsEvaluator(EvaluatorSpec spec, bool negate) : PlatformEvaluator(spec)
{
    private readonly string _value = spec.Value ?? throw new ArgumentException("contains needs a value", nameof(spec));

    protected override ValueTask<Score> ScoreAsync(EvaluationInput input, NumericMetric metric, CancellationToken cancellationToken)
    {
        var comparison = Spec.IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var at = input.Output.IndexOf(_value, comparison);
        var quoted = EvaluatorLimits.Quote(_value);
        var score = at >= 0
            ? new Score(negate ? 0 : 1, $"the output contains '{quoted}' at character {at}")
            : new Score(negate ? 1 : 0, $"the output does not contain '{quoted}'");
        return ValueTask.FromResult(score);
    }
}

/// <summary>
/// regex: the output matches <see cref="EvaluatorSpec.Value"/>. Runs with <see cref="RegexOptions.NonBacktracking"/>
/// (linear time) unless the pattern needs backtracking (backreferences, lookarounds, atomic groups), then with a
/// 100 ms match timeout; a timeout scores 0 with a reason.
/// </summary>
public sealed class RegexEvaluator(EvaluatorSpec spec) : PlatformEvaluator(spec)
{
    private readonly Regex _regex = Build(spec.Value ?? throw new ArgumentException("regex needs a value", nameof(spec)), spec.IgnoreCase);

    /// <summary>True when the pattern runs in linear time (no backtracking).</summary>
    public bool IsLinear => (_regex.Options & RegexOptions.NonBacktracking) != 0;

    /// <summary>Builds the pattern's regex; throws <see cref="ArgumentException"/> when the pattern is invalid.</summary>
    public static Regex Build(string pattern, bool ignoreCase)
    {
        var options = RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
        try
        {
            return new Regex(pattern, options | RegexOptions.NonBacktracking, EvaluatorLimits.RegexTimeout);
        }
        catch (NotSupportedException)
        {
            return new Regex(pattern, options, EvaluatorLimits.RegexTimeout);
        }
    }

    protected override ValueTask<Score> ScoreAsync(EvaluationInput input, NumericMetric metric, CancellationToken cancellationToken)
    {
        try
        {
            var match = _regex.Match(input.Output);
            return ValueTask.FromResult(match.Success
                ? new Score(1, $"the output matches the pattern at character {match.Index}")
                : new Score(0, "the output does not match the pattern"));
        }
        catch (RegexMatchTimeoutException)
        {
            return ValueTask.FromResult(new Score(0,
                $"matching the pattern took longer than {EvaluatorLimits.RegexTimeout.TotalMilliseconds:0} ms and was stopped"));
        }
    }
}

/// <summary>length: the output has between <see cref="EvaluatorSpec.MinLength"/> and <see cref="EvaluatorSpec.MaxLength"/> characters.</summary>
public sealed class LengthEvaluator(EvaluatorSpec spec) : PlatformEvaluator(spec)
{
    protected override bool SeesWholeOutput => true;

    protected override ValueTask<Score> ScoreAsync(EvaluationInput input, NumericMetric metric, CancellationToken cancellationToken)
    {
        var length = input.OutputLength;
        Score score;
        if (Spec.MinLength is { } min && length < min)
        {
            score = new Score(0, $"the output has {length} characters, fewer than the minimum {min}");
        }
        else if (Spec.MaxLength is { } max && length > max)
        {
            score = new Score(0, $"the output has {length} characters, more than the maximum {max}");
        }
        else
        {
            score = new Score(1, $"the output has {length} characters, within bounds");
        }

        return ValueTask.FromResult(score);
    }
}
