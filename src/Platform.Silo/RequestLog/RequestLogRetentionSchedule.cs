using Microsoft.Extensions.Options;
using Platform.RequestLog;
using Platform.Silo.Hosting;

namespace Platform.Silo.RequestLog;

/// <summary>Makes sure the retention reminder exists, with the configured period, once the silo has started.</summary>
internal sealed partial class RequestLogRetentionSchedule(
    IGrainFactory grains, IOptions<PlatformOptions> options, ILogger<RequestLogRetentionSchedule> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromMinutes(options.Value.RequestLog.RetentionIntervalMinutes);
        var delay = TimeSpan.FromSeconds(1);
        for (var attempt = 1; attempt <= 10 && !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await grains.GetGrain<IRequestLogRetentionGrain>(IRequestLogRetentionGrain.Key).EnsureScheduledAsync(period);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogScheduleFailed(logger, attempt, ex.GetType().Name);
            }

            await Task.Delay(delay, stoppingToken);
            delay *= 2;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request log retention reminder not registered yet (attempt {Attempt}): {Reason}")]
    private static partial void LogScheduleFailed(ILogger logger, int attempt, string reason);
}
