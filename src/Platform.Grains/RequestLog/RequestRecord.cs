namespace Platform.RequestLog;

/// <summary>
/// One row of the request log: what one request to <c>/v1</c> came to. Built once per request on the response path and
/// handed to the silo's writer; never serialized by Orleans (it does not leave the silo that served the request).
/// </summary>
public sealed class RequestRecord
{
    /// <summary>The request id: the <c>x-request-id</c> header of the response (a chat completion's id is <c>chatcmpl-{id}</c>).</summary>
    public required string Id { get; init; }

    public required string TenantId { get; init; }

    /// <summary>When the request arrived, UTC.</summary>
    public required DateTime At { get; init; }

    /// <summary><see cref="RequestOperations.Chat"/> or <see cref="RequestOperations.Embeddings"/>.</summary>
    public required string Operation { get; init; }

    public bool Stream { get; init; }

    public required string KeyId { get; init; }

    public string? EndUser { get; init; }

    public string? Deployment { get; init; }

    public string? Arm { get; init; }

    public long? Revision { get; init; }

    /// <summary>The <c>model</c> the caller sent (a deployment's or a route's name).</summary>
    public string? RequestedModel { get; init; }

    /// <summary>The catalog route that answered (after fallbacks), when one did.</summary>
    public string? ServedRoute { get; init; }

    public string? PromptName { get; init; }

    public string? PromptVersion { get; init; }

    /// <summary>The HTTP status, or for a stream that ended with an error event, that event's status.</summary>
    public int Status { get; init; }

    public string? ErrorCode { get; init; }

    public bool Success { get; init; }

    public double LatencyMs { get; init; }

    public double? TimeToFirstTokenMs { get; init; }

    public long InputTokens { get; init; }

    public long CachedTokens { get; init; }

    public long OutputTokens { get; init; }

    /// <summary>Cost in billionths of a US dollar, so sums are exact (<see cref="NanoUsd"/>).</summary>
    public long CostNanoUsd { get; init; }

    public int Attempts { get; init; }

    public bool Fallback { get; init; }

    /// <summary>The prompt's text, only when the tenant's policy stores content (capped to its size).</summary>
    public string? PromptText { get; init; }

    public string? CompletionText { get; init; }

    public decimal CostUsd => NanoUsd.ToUsd(CostNanoUsd);
}

public static class RequestOperations
{
    public const string Chat = "chat";
    public const string Embeddings = "embeddings";
}

/// <summary>Dollars as whole billionths, the request log's unit of cost.</summary>
public static class NanoUsd
{
    private const decimal PerUsd = 1_000_000_000m;

    public static long FromUsd(decimal usd) => (long)decimal.Round(usd * PerUsd, MidpointRounding.AwayFromZero);

    public static decimal ToUsd(long nano) => nano / PerUsd;
}
