using System.Text;
using Microsoft.Extensions.AI.Evaluation;

namespace Platform.Evaluations.Evaluators;

/// <summary>
/// SQuAD-style answer normalization and the token overlap scores built on it: lower-case, punctuation removed
/// (so "don't" becomes "dont"), the articles a/an/the removed, split on whitespace.
/// </summary>
public static class TokenOverlap
{
    /// <summary>Tokens ROUGE-L looks at per side: its LCS table costs tokens x tokens.</summary>
    public const int MaxLcsTokens = 2_000;

    public static List<string> Tokenize(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (char.IsPunctuation(c) || char.IsSymbol(c))
            {
                continue;
            }

            builder.Append(char.IsWhiteSpace(c) ? ' ' : char.ToLowerInvariant(c));
        }

        var tokens = new List<string>();
        foreach (var token in builder.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (token is not ("a" or "an" or "the"))
            {
                tokens.Add(token);
            }
        }

        return tokens;
    }

    /// <summary>Harmonic mean of precision and recall of the token multisets; 1 when both are empty, 0 when one is.</summary>
    public static double F1(IReadOnlyList<string> candidate, IReadOnlyList<string> reference)
    {
        if (candidate.Count == 0 || reference.Count == 0)
        {
            return candidate.Count == reference.Count ? 1 : 0;
        }

        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in reference)
        {
            counts[token] = counts.GetValueOrDefault(token) + 1;
        }

        var common = 0;
        foreach (var token in candidate)
        {
            if (counts.TryGetValue(token, out var left) && left > 0)
            {
                counts[token] = left - 1;
                common++;
            }
        }

        return FMeasure(common, candidate.Count, reference.Count);
    }

    /// <summary>Length of the longest common subsequence, in O(n*m) time and O(m) memory.</summary>
    public static int LongestCommonSubsequence(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var previous = new int[b.Count + 1];
        var current = new int[b.Count + 1];
        for (var i = 1; i <= a.Count; i++)
        {
            for (var j = 1; j <= b.Count; j++)
            {
                current[j] = string.Equals(a[i - 1], b[j - 1], StringComparison.Ordinal)
                    ? previous[j - 1] + 1
                    : Math.Max(previous[j], current[j - 1]);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Count];
    }

    /// <summary>ROUGE-L F-measure (beta = 1) from the LCS of the token sequences; 1 when both are empty, 0 when one is.</summary>
    public static double RougeL(IReadOnlyList<string> candidate, IReadOnlyList<string> reference)
    {
        if (candidate.Count == 0 || reference.Count == 0)
        {
            return candidate.Count == reference.Count ? 1 : 0;
        }

        return FMeasure(LongestCommonSubsequence(candidate, reference), candidate.Count, reference.Count);
    }

    private static double FMeasure(int common, int candidateCount, int referenceCount)
    {
        if (common == 0)
        {
            return 0;
        }

        var precision = (double)common / candidateCount;
        var recall = (double)common / referenceCount;
        return 2 * precision * recall / (precision + recall);
    }
}

/// <summary>token_f1 / rouge_l against the item's expected output.</summary>
public sealed class TokenOverlapEvaluator(EvaluatorSpec spec, bool rougeL) : PlatformEvaluator(spec)
{
    protected override ValueTask<Score> ScoreAsync(EvaluationInput input, NumericMetric metric, CancellationToken cancellationToken)
    {
        if (input.Expected is null)
        {
            return ValueTask.FromResult(Score.Missing("the item has no expected output to compare with"));
        }

        var candidate = TokenOverlap.Tokenize(input.Output);
        var reference = TokenOverlap.Tokenize(input.Expected);
        if (!rougeL)
        {
            var f1 = TokenOverlap.F1(candidate, reference);
            return ValueTask.FromResult(new Score(f1,
                $"token F1 {f1:0.###} over {candidate.Count} output and {reference.Count} expected tokens"));
        }

        var cut = candidate.Count > TokenOverlap.MaxLcsTokens || reference.Count > TokenOverlap.MaxLcsTokens;
        if (candidate.Count > TokenOverlap.MaxLcsTokens)
        {
            candidate.RemoveRange(TokenOverlap.MaxLcsTokens, candidate.Count - TokenOverlap.MaxLcsTokens);
        }

        if (reference.Count > TokenOverlap.MaxLcsTokens)
        {
            reference.RemoveRange(TokenOverlap.MaxLcsTokens, reference.Count - TokenOverlap.MaxLcsTokens);
        }

        var score = TokenOverlap.RougeL(candidate, reference);
        var note = cut ? $" (only the first {TokenOverlap.MaxLcsTokens} tokens of each side were compared)" : "";
        return ValueTask.FromResult(new Score(score,
            $"ROUGE-L F {score:0.###} over {candidate.Count} output and {reference.Count} expected tokens{note}"));
    }
}
