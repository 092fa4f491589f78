namespace Platform.Evaluations.Comparisons;

/// <summary>One evaluator's result for one item, as the run grain adds it to the aggregates.</summary>
public readonly record struct EvaluatorItemScore(string Name, double? Score, bool Passed);

/// <summary>
/// Running aggregates of an evaluation run: item and error counts, per evaluator the mean score and pass rate
/// (over the items it could score), latency percentiles (of the items without error) from a
/// <see cref="LatencyHistogram"/>, total tokens and cost. Memory is flat in the number of items; the state
/// round-trips through <see cref="ToState"/> and the constructor, so a grain can persist it. Not thread-safe.
/// </summary>
public sealed class RunAggregator
{
    /// <summary>Distinct evaluator names tracked (more than a run may have; the rest are ignored).</summary>
    public const int MaxEvaluators = 64;

    private readonly List<string> _order = [];
    private readonly Dictionary<string, Tally> _tallies = new(StringComparer.Ordinal);
    private readonly LatencyHistogram _latency;
    private long _count;
    private long _errors;
    private long _tokensIn;
    private long _tokensOut;
    private long _cost;

    public RunAggregator()
    {
        _latency = new LatencyHistogram();
    }

    public RunAggregator(RunAggregatorState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _count = state.Count;
        _errors = state.Errors;
        _tokensIn = state.TokensIn;
        _tokensOut = state.TokensOut;
        _cost = state.CostNanoUsd;
        foreach (var t in state.Evaluators ?? [])
        {
            _order.Add(t.Name);
            _tallies[t.Name] = new Tally { Scored = t.Scored, Sum = t.ScoreSum, Passed = t.Passed, Unscored = t.Unscored };
        }

        _latency = LatencyHistogram.Restore(state.LatencyBuckets, state.LatencyZeroCount, state.LatencySumMs, state.LatencyMaxMs);
    }

    public long Count => _count;

    /// <summary>Adds one item: its latency, usage, cost, whether it failed, and each evaluator's score.</summary>
    public void Add(double latencyMs, long tokensIn, long tokensOut, long costNanoUsd, bool error, IEnumerable<EvaluatorItemScore>? scores = null)
    {
        _count++;
        _tokensIn += Math.Max(0, tokensIn);
        _tokensOut += Math.Max(0, tokensOut);
        _cost += Math.Max(0, costNanoUsd);
        if (error)
        {
            _errors++;
        }
        else
        {
            _latency.Add(latencyMs);
        }

        foreach (var score in scores ?? [])
        {
            if (!_tallies.TryGetValue(score.Name, out var tally))
            {
                if (_order.Count >= MaxEvaluators)
                {
                    continue;
                }

                _order.Add(score.Name);
                _tallies[score.Name] = tally = new Tally();
            }

            if (score.Score is { } value && double.IsFinite(value))
            {
                tally.Scored++;
                tally.Sum += value;
                tally.Passed += score.Passed ? 1 : 0;
            }
            else
            {
                tally.Unscored++;
            }
        }
    }

    public RunAggregates Snapshot() => new(
        _count,
        _errors,
        [.. _order.Select(name =>
        {
            var t = _tallies[name];
            return new EvaluatorAggregate(
                name, t.Scored, t.Scored == 0 ? null : t.Sum / t.Scored, t.Passed, t.Scored == 0 ? null : (double)t.Passed / t.Scored, t.Unscored);
        })],
        _latency.Quantile(0.50),
        _latency.Quantile(0.95),
        _latency.Quantile(0.99),
        _latency.Count == 0 ? null : _latency.Sum / _latency.Count,
        _latency.Count == 0 ? null : _latency.Max,
        _tokensIn,
        _tokensOut,
        _cost);

    public RunAggregatorState ToState() => new(
        _count,
        _errors,
        _tokensIn,
        _tokensOut,
        _cost,
        [.. _order.Select(name => _tallies[name]).Zip(_order, (t, name) => new EvaluatorTally(name, t.Scored, t.Sum, t.Passed, t.Unscored))],
        new Dictionary<int, long>(_latency.Buckets),
        _latency.ZeroCount,
        _latency.Sum,
        _latency.Max);

    private sealed class Tally
    {
        public long Scored { get; set; }

        public double Sum { get; set; }

        public long Passed { get; set; }

        public long Unscored { get; set; }
    }
}
