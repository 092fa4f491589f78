using Microsoft.Extensions.Logging;
using Platform.Tenants;

namespace Platform.RequestLog;

/// <summary>
/// Deletes, on a reminder, every tenant's request log rows older than its retention. The store is the silo's
/// (<see cref="IRequestLogStore"/>): on the azure profile every silo shares it; the embedded profile is one process.
/// </summary>
public sealed partial class RequestLogRetentionGrain(
    IRequestLogStore store, TimeProvider time, ILogger<RequestLogRetentionGrain> logger) : Grain, IRequestLogRetentionGrain, IRemindable
{
    private const string Reminder = "retention";

    public Task EnsureScheduledAsync(TimeSpan period) => this.RegisterOrUpdateReminder(Reminder, period, period);

    public async Task<long> RunAsync(string tenantId)
    {
        var tenant = await GrainFactory.GetGrain<ITenantGrain>(tenantId).GetAsync();
        if (tenant is null)
        {
            return 0;
        }

        var cutoff = RetentionCutoff(time.GetUtcNow(), tenant.Settings.RetentionDays);
        var deleted = await store.DeleteOlderThanAsync(tenantId, cutoff);
        if (deleted > 0)
        {
            LogDeleted(logger, deleted, tenantId, cutoff);
        }

        return deleted;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        var tenants = await GrainFactory.GetGrain<ITenantDirectoryGrain>("all").ListAsync();
        foreach (var tenant in tenants)
        {
            try
            {
                await RunAsync(tenant);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // One tenant's failure must not stop the others; the next tick tries again.
                LogFailed(logger, tenant, ex.GetType().Name);
            }
        }
    }

    /// <summary>The oldest time a tenant keeping <paramref name="days"/> days still keeps.</summary>
    public static DateTime RetentionCutoff(DateTimeOffset now, int days) => now.UtcDateTime.AddDays(-days);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request log retention deleted {Count} rows of tenant {Tenant} older than {Cutoff:O}")]
    private static partial void LogDeleted(ILogger logger, long count, string tenant, DateTime cutoff);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request log retention of tenant {Tenant} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string tenant, string reason);
}
