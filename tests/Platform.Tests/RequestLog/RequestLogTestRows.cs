using Platform.RequestLog;

namespace Platform.Tests.RequestLog;

internal static class RequestLogTestRows
{
    public static readonly DateTime Base = new(2025, 6, 1, 12, 0, 0, DateTimeKind.Utc);

    public static RequestRecord Row(
        string tenant, int i, DateTime? at = null, string? user = null, string model = "gpt", bool success = true, double latency = 10, long costNano = 1000) => new()
    {
        Id = $"req_{tenant}_{i:D6}",
        TenantId = tenant,
        At = at ?? Base.AddSeconds(i),
        Operation = RequestOperations.Chat,
        KeyId = "key1",
        EndUser = user,
        RequestedModel = model,
        ServedRoute = model,
        Status = success ? 200 : 502,
        ErrorCode = success ? null : "upstream_error",
        Success = success,
        LatencyMs = latency,
        InputTokens = 3,
        OutputTokens = 5,
        CostNanoUsd = costNano,
        Attempts = 1,
    };
}
