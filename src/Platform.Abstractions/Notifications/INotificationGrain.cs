namespace Platform.Notifications;

/// <summary>A notification for a tenant's webhook.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Notifications.Notification")]
public sealed record Notification(
    [property: Id(0)] string Event,
    [property: Id(1)] string TenantId,
    [property: Id(2)] string Subject,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] string Reason,
    [property: Id(5)] string? Evidence,
    [property: Id(6)] int? FromWeight,
    [property: Id(7)] int? ToWeight,
    [property: Id(8)] string Id);

/// <summary>Delivers a tenant's notifications to its webhook, signed and retried. Key: tenant id.</summary>
[Alias("Platform.Notifications.INotificationGrain")]
public interface INotificationGrain : IGrainWithStringKey
{
    /// <summary>Queues a notification; delivery happens in the background.</summary>
    [Alias("NotifyAsync")]
    [Orleans.Concurrency.OneWay]
    Task NotifyAsync(Notification notification);
}

public static class NotificationEvents
{
    public const string CanaryStarted = "canary.started";
    public const string StepAdvanced = "canary.step_advanced";
    public const string Promoted = "canary.promoted";
    public const string RolledBack = "canary.rolled_back";
    public const string PolicyBreached = "policy.breached";
    public const string BudgetThreshold = "budget.threshold";
}
