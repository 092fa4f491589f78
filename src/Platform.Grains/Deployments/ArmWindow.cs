namespace Platform.Deployments;

/// <summary>
/// Mergeable latency histogram: logarithmic buckets 5% wide from 0.1 ms to about 30 minutes, so any quantile
/// is within 5% and two histograms merge by adding counts. Fixed size, no allocation per record.
/// </summary>
[GenerateSerializer]
[Alias("Platform.Deployments.LatencyHistogram")]
public sealed class LatencyHistogram
{
    private const double Min = 0.1;
    private const double Growth = 1.05;
    public const int BucketCount = 350;
    private static readonly double LogGrowth = Math.Log(Growth);

    [Id(0)]
    public long[] Buckets { get; set; } = new long[BucketCount];

    [Id(1)]
    public long Count { get; set; }

    public void Record(double milliseconds)
    {
        var index = milliseconds <= Min ? 0 : Math.Min(BucketCount - 1, (int)(Math.Log(milliseconds / Min) / LogGrowth) + 1);
        Buckets[index]++;
        Count++;
    }

    public void Merge(LatencyHistogram other)
    {
        for (var i = 0; i < BucketCount; i++)
        {
            Buckets[i] += other.Buckets[i];
        }

        Count += other.Count;
    }

    /// <summary>The upper bound of the bucket holding quantile <paramref name="q"/> (0-1).</summary>
    public double Quantile(double q)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(q * Count);
        long seen = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            seen += Buckets[i];
            if (seen >= rank)
            {
                return i == 0 ? Min : Min * Math.Pow(Growth, i);
            }
        }

        return Min * Math.Pow(Growth, BucketCount - 1);
    }
}

/// <summary>Counts, errors, latency, tokens, cost and quality of one arm since the current canary started.</summary>
[GenerateSerializer]
[Alias("Platform.Deployments.ArmWindow")]
public sealed class ArmWindow
{
    [Id(0)]
    public long Requests { get; set; }

    [Id(1)]
    public long Errors { get; set; }

    [Id(2)]
    public LatencyHistogram Latency { get; set; } = new();

    [Id(3)]
    public long InputTokens { get; set; }

    [Id(4)]
    public long OutputTokens { get; set; }

    [Id(5)]
    public decimal CostUsd { get; set; }

    [Id(6)]
    public long QualityCount { get; set; }

    [Id(7)]
    public double QualitySum { get; set; }

    [Id(8)]
    public double QualitySumOfSquares { get; set; }

    public void Record(InferenceEvent e)
    {
        Requests++;
        if (!e.Success)
        {
            Errors++;
            return;
        }

        Latency.Record(e.LatencyMs);
        InputTokens += e.InputTokens;
        OutputTokens += e.OutputTokens;
        CostUsd += e.CostUsd;
        if (e.Quality is { } q)
        {
            QualityCount++;
            QualitySum += q;
            QualitySumOfSquares += q * q;
        }
    }

    public void Merge(ArmWindow other)
    {
        Requests += other.Requests;
        Errors += other.Errors;
        Latency.Merge(other.Latency);
        InputTokens += other.InputTokens;
        OutputTokens += other.OutputTokens;
        CostUsd += other.CostUsd;
        QualityCount += other.QualityCount;
        QualitySum += other.QualitySum;
        QualitySumOfSquares += other.QualitySumOfSquares;
    }

    public double ErrorRate => Requests == 0 ? 0 : (double)Errors / Requests;

    public long Successes => Requests - Errors;

    public double MeanCost => Successes == 0 ? 0 : (double)CostUsd / Successes;

    public double? MeanQuality => QualityCount == 0 ? null : QualitySum / QualityCount;

    public double QualityVariance => QualityCount < 2 ? 0 : Math.Max(0, (QualitySumOfSquares - QualitySum * QualitySum / QualityCount) / (QualityCount - 1));

    public ArmMetrics Snapshot() => new(
        Requests, Errors, ErrorRate, Latency.Quantile(0.5), Latency.Quantile(0.95), MeanCost, MeanQuality, InputTokens, OutputTokens);
}
