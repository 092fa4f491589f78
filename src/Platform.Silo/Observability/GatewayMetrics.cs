using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Platform.Silo.Observability;

/// <summary>
/// The gateway's instruments on the <c>Platform</c> meter: the GenAI client metrics of the semantic conventions, recorded
/// once per request from the settled usage (so streams without provider usage count the estimate the budget charged),
/// and the platform's request, cost, refusal and fallback counters. Labels stay low-cardinality: tenant, operation,
/// catalog route and status class; never a user, a key or a model name the caller typed.
/// </summary>
public static class GatewayMetrics
{
    /// <summary>The semantic conventions' advice for <c>gen_ai.client.token.usage</c>.</summary>
    private static readonly long[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    /// <summary>The semantic conventions' advice for <c>gen_ai.client.operation.duration</c>.</summary>
    private static readonly double[] DurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

    public static readonly Histogram<long> TokenUsage = PlatformMeter.Meter.CreateHistogram(
        "gen_ai.client.token.usage", "{token}", "Tokens used per request (input and output), as settled with the budget.",
        tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });

    public static readonly Histogram<double> OperationDuration = PlatformMeter.Meter.CreateHistogram(
        "gen_ai.client.operation.duration", "s", "Duration of a gateway request, to the last byte of the answer.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });

    public static readonly Counter<long> Requests = PlatformMeter.Meter.CreateCounter<long>(
        "platform.requests", "{request}", "Gateway requests by tenant, operation, model route and status class.");

    public static readonly Counter<double> Cost = PlatformMeter.Meter.CreateCounter<double>(
        "platform.cost.usd", "{USD}", "Settled cost of gateway requests, in US dollars.");

    public static readonly Counter<long> BudgetRefusals = PlatformMeter.Meter.CreateCounter<long>(
        "platform.budget.refusals", "{request}", "Requests refused by a budget or rate limit before any provider call.");

    public static readonly Counter<long> Fallbacks = PlatformMeter.Meter.CreateCounter<long>(
        "platform.fallbacks", "{request}", "Requests served by a fallback route instead of their primary route.");

    /// <summary>The status class label: <c>2xx</c>, <c>4xx</c>, <c>5xx</c>, or <c>cancelled</c> when the client left.</summary>
    public static string StatusClass(int status, bool cancelled) => cancelled ? "cancelled" : status switch
    {
        < 300 => "2xx",
        < 400 => "3xx",
        < 500 => "4xx",
        _ => "5xx",
    };

    /// <summary>Records one finished request; nothing is computed when no listener is attached to any instrument.</summary>
    internal static void Record(in RequestMeasurement m)
    {
        if (Requests.Enabled)
        {
            var tags = new TagList
            {
                { GenAiAttributes.Tenant, m.Tenant },
                { GenAiAttributes.OperationName, m.Operation },
                { GenAiAttributes.Route, m.Route },
                { GenAiAttributes.StatusClass, m.StatusClass },
            };
            Requests.Add(1, tags);
        }

        if (m.CostUsd > 0 && Cost.Enabled)
        {
            Cost.Add(m.CostUsd, new TagList { { GenAiAttributes.Tenant, m.Tenant }, { GenAiAttributes.OperationName, m.Operation }, { GenAiAttributes.Route, m.Route } });
        }

        if (OperationDuration.Enabled)
        {
            var tags = GenAiTags(m);
            if (m.ErrorType is not null)
            {
                tags.Add(GenAiAttributes.ErrorType, m.ErrorType);
            }

            OperationDuration.Record(m.Seconds, tags);
        }

        if (m.HasUsage && TokenUsage.Enabled)
        {
            var input = GenAiTags(m);
            input.Add(GenAiAttributes.TokenType, "input");
            TokenUsage.Record(m.InputTokens, input);
            if (m.Operation != GenAiAttributes.Embeddings)
            {
                var output = GenAiTags(m);
                output.Add(GenAiAttributes.TokenType, "output");
                TokenUsage.Record(m.OutputTokens, output);
            }
        }
    }

    private static TagList GenAiTags(in RequestMeasurement m)
    {
        var tags = new TagList
        {
            { GenAiAttributes.OperationName, m.Operation },
            { GenAiAttributes.RequestModel, m.Route },
        };
        if (m.Provider is not null)
        {
            tags.Add(GenAiAttributes.ProviderName, m.Provider);
        }

        if (m.ResponseModel is not null)
        {
            tags.Add(GenAiAttributes.ResponseModel, m.ResponseModel);
        }

        return tags;
    }
}

/// <summary>What one finished request contributes to the metrics.</summary>
internal readonly record struct RequestMeasurement(
    string Tenant, string Operation, string Route, string? Provider, string? ResponseModel, string StatusClass, string? ErrorType,
    double Seconds, bool HasUsage, long InputTokens, long OutputTokens, double CostUsd);
