namespace Platform.RequestLog;

/// <summary>
/// Enforces each tenant's request log retention (key <see cref="Key"/>): a reminder deletes, for every tenant, the rows
/// older than the tenant's <c>RequestLogRetentionDays</c>.
/// </summary>
[Alias("Platform.RequestLog.IRequestLogRetentionGrain")]
public interface IRequestLogRetentionGrain : IGrainWithStringKey
{
    const string Key = "all";

    /// <summary>Registers (or re-times) the reminder; idempotent.</summary>
    [Alias("EnsureScheduledAsync")]
    Task EnsureScheduledAsync(TimeSpan period);

    /// <summary>Deletes one tenant's expired rows now and returns how many went.</summary>
    [Alias("RunAsync")]
    Task<long> RunAsync(string tenantId);
}
