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
    private readonly Queue<Notification> _queue = new();
    private Task _pump = Task.CompletedTask;

    public static TimeSpan Backoff(int attempt) => TimeSpan.FromSeconds(Math.Pow(2, attempt - 1));

    public Task NotifyAsync(Notification notification)
    {
        _queue.Enqueue(notification);
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
            var tenant = await GrainFactory.GetGrain<ITenantGrain>(this.GetPrimaryKeyString()).GetAsync();
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook of tenant {Tenant}: {Event} not delivered after {Attempts} attempts.")]
    private static partial void LogGaveUp(ILogger logger, string tenant, string @event, int attempts);
}
