namespace Platform.Evaluations.Comparisons;

/// <summary>
/// A log-bucketed histogram of latencies (the DDSketch layout): bucket i holds values in (g^(i-1), g^i] with
/// g = (1 + a) / (1 - a), a = 1%, and reports the value 2 g^i / (g + 1), which is within 1% of every value in
/// the bucket. Values below <see cref="MinValue"/> count as 0; values above <see cref="MaxValue"/> as
/// <see cref="MaxValue"/>. At most ~1,400 buckets exist whatever the number of values, so memory stays flat.
/// </summary>
public sealed class LatencyHistogram
{
    public const double RelativeAccuracy = 0.01;
    public const double MinValue = 1e-3;
    public const double MaxValue = 1e9;

    private static readonly double Gamma = (1 + RelativeAccuracy) / (1 - RelativeAccuracy);
    private static readonly double LogGamma = Math.Log(Gamma);

    private readonly SortedDictionary<int, long> _buckets = [];

    public long Count { get; private set; }

    public long ZeroCount { get; private set; }

    public double Sum { get; private set; }

    public double Max { get; private set; }

    public IReadOnlyDictionary<int, long> Buckets => _buckets;

    public void Add(double value)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            return;
        }

        value = Math.Min(value, MaxValue);
        Count++;
        Sum += value;
        Max = Math.Max(Max, value);
        if (value < MinValue)
        {
            ZeroCount++;
            return;
        }

        var index = (int)Math.Ceiling(Math.Log(value) / LogGamma);
        _buckets[index] = _buckets.GetValueOrDefault(index) + 1;
    }

    /// <summary>The nearest-rank quantile q (0-1) within 1%, or null when empty.</summary>
    public double? Quantile(double q)
    {
        if (Count == 0)
        {
            return null;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(Math.Clamp(q, 0, 1) * Count));
        var seen = ZeroCount;
        if (seen >= rank)
        {
            return 0;
        }

        foreach (var (index, count) in _buckets)
        {
            seen += count;
            if (seen >= rank)
            {
                return Math.Min(2 * Math.Pow(Gamma, index) / (Gamma + 1), Max);
            }
        }

        return Max;
    }

    public static LatencyHistogram Restore(IReadOnlyDictionary<int, long>? buckets, long zeroCount, double sum, double max)
    {
        var histogram = new LatencyHistogram { ZeroCount = zeroCount, Sum = sum, Max = max, Count = zeroCount };
        foreach (var (index, count) in buckets ?? new Dictionary<int, long>())
        {
            histogram._buckets[index] = count;
            histogram.Count += count;
        }

        return histogram;
    }
}
