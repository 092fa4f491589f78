using Microsoft.Extensions.Logging;
using Platform.Tenants;

namespace Platform.Notifications;

/// <summary>
/// Delivers notifications in order, retrying each with exponential backoff (1, 2, 4, 8, 16 s) before giving up.
/// The queue is in memory: notifications queued on a silo that dies before delivery are lost (noted as follow-up).
/// </summary>
public sealed partial class NotificationGrain(WebhookSender sender, ILogger<NotificationGrain> logger) : Grain, INotificationGrain
{
    public const int MaxAttempts = 6;

    /// <summary>Queued notifications per tenant; beyond this the oldest are dropped (and logged).</summary>
    public const int MaxQueued = 1000;
    private readonly Queue<Notification> _queue = new();
    private Task _pump = Task.CompletedTask;

    public static TimeSpan Backoff(int attempt) => TimeSpan.FromSeconds(Math.Pow(2, attempt - 1));

    public Task NotifyAsync(Notification notification)
    {
        _queue.Enqueue(notification);
        while (_queue.Count > MaxQueued)
        {
            var dropped = _queue.Dequeue();
            LogDropped(logger, dropped.TenantId, dropped.Event);
        }

        if (_pump.IsCompleted)
        {
            _pump = PumpAsync();
        }

        return Task.CompletedTask;
    }

    private async Task PumpAsync()
    {
        while (_queue.TryPeek(out var next))
        {
            TenantInfo? tenant;
            try
            {
                tenant = await GrainFactory.GetGrain<ITenantGrain>(this.GetPrimaryKeyString()).GetAsync();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The tenant could not be read now: try again shortly rather than stall the queue.
                await Task.Delay(TimeSpan.FromSeconds(1));
                continue;
            }

            if (tenant?.Settings is { WebhookUrl: { Length: > 0 } url, WebhookSecret: { Length: > 0 } secret })
            {
                for (var attempt = 1; attempt <= MaxAttempts; attempt++)
                {
                    if (await sender.SendAsync(url, secret, next, CancellationToken.None))
                    {
                        break;
                    }

                    if (attempt == MaxAttempts)
                    {
                        LogGaveUp(logger, next.TenantId, next.Event, MaxAttempts);
                        break;
                    }

                    DelayDeactivation(TimeSpan.FromMinutes(2));
                    await Task.Delay(Backoff(attempt));
                }
            }

            _queue.Dequeue();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook of tenant {Tenant}: queue full, {Event} dropped.")]
    private static partial void LogDropped(ILogger logger, string tenant, string @event);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook of tenant {Tenant}: {Event} not delivered after {Attempts} attempts.")]
    private static partial void LogGaveUp(ILogger logger, string tenant, string @event, int attempts);
}
