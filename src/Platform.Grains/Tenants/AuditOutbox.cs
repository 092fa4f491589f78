using Microsoft.Extensions.Logging;

namespace Platform.Tenants;

/// <summary>
/// The audit half of a change, made durable with the change: a grain adds the audit record to a pending list in its
/// own state before the write that saves the change, so the change and its record are stored together or not at all.
/// The record is then appended to the tenant's log (by entry id, so a repeat is harmless); what could not be
/// delivered is retried with backoff while the grain is active, and again when it next activates. A caller whose
/// change was saved is never told it failed because the audit log was unreachable.
/// </summary>
public sealed partial class AuditOutbox
{
    /// <summary>Undelivered records a grain may hold; beyond this, changes are refused until the log is back.</summary>
    public const int MaxPending = 100;

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);

    /// <summary>How long one append may take before delivery moves to the background (a late answer is recognised by entry id).</summary>
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(2);

    private readonly Grain _grain;
    private readonly IGrainFactory _grains;
    private readonly Func<string> _tenantId;
    private readonly Func<List<AuditRecord>> _pending;
    private readonly Func<Task> _writeState;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private IGrainTimer? _retry;
    private int _failures;

    /// <param name="grain">The owning grain (its timers are used).</param>
    /// <param name="grains">The owning grain's grain factory.</param>
    /// <param name="tenantId">The tenant whose log receives the records.</param>
    /// <param name="pending">The pending list inside the owner's state.</param>
    /// <param name="writeState">Writes the owner's state (to store the emptied list once delivered).</param>
    /// <param name="time">Stamps each record with the time of its change.</param>
    /// <param name="logger">Delivery failures are logged as warnings.</param>
    public AuditOutbox(Grain grain, IGrainFactory grains, Func<string> tenantId, Func<List<AuditRecord>> pending, Func<Task> writeState, TimeProvider time, ILogger logger)
    {
        _grain = grain;
        _grains = grains;
        _tenantId = tenantId;
        _pending = pending;
        _writeState = writeState;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Adds a record (with a fresh entry id, or <paramref name="entryId"/> when the change can be retried after it was
    /// saved elsewhere, and the change's time) to the pending list; call before writing the change.
    /// </summary>
    public AuditRecord Add(Actor actor, string action, string target, string? before, string? after, string? entryId = null)
    {
        var pending = _pending();
        if (pending.Count >= MaxPending)
        {
            throw new PlatformException(ErrorKind.Unavailable, "The audit log cannot be reached; nothing was changed. Retry in a minute.", code: "audit_unavailable")
            {
                RetryAfterSeconds = 30,
            };
        }

        var record = new AuditRecord(actor, action, target, before, after, entryId ?? Guid.NewGuid().ToString("N"), _time.GetUtcNow());
        pending.Add(record);
        return record;
    }

    /// <summary>Like <see cref="Add"/>, but returns false instead of refusing when the outbox is full (for records of automatic events).</summary>
    public bool TryAdd(Actor actor, string action, string target, string? before, string? after)
    {
        if (_pending().Count >= MaxPending)
        {
            return false;
        }

        Add(actor, action, target, before, after);
        return true;
    }

    /// <summary>Takes back a record whose change was not written.</summary>
    public void Remove(AuditRecord record) => _pending().Remove(record);

    /// <summary>Delivers when something is pending (from <c>OnActivateAsync</c>: leftovers of an earlier activation), off the activation path.</summary>
    public void ResumeIfPending()
    {
        if (_pending().Count > 0)
        {
            Schedule(TimeSpan.Zero);
        }
    }

    /// <summary>Appends every pending record to the tenant's log, in order. Never throws: a failure schedules a retry.</summary>
    public async Task DeliverAsync()
    {
        var tenantId = _tenantId();
        var pending = _pending();
        if (pending.Count == 0 || _delivering)
        {
            // Nothing to do, or a delivery is under way (it goes on until the list is empty): two would append the same record twice.
            return;
        }

        _delivering = true;
        try
        {
            await DeliverPendingAsync(tenantId, pending);
        }
        finally
        {
            _delivering = false;
        }
    }

    private bool _delivering;

    private async Task DeliverPendingAsync(string tenantId, List<AuditRecord> pending)
    {

        var log = _grains.GetGrain<IAuditLogGrain>(tenantId);
        try
        {
            while (pending.Count > 0)
            {
                // Bounded: a log on a silo that just died would otherwise hold this grain's turn until the call times out.
                var append = log.AppendAsync(pending[0]);
                if (await Task.WhenAny(append, Task.Delay(DeliveryTimeout, _time)) != append)
                {
                    _ = append.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
                    throw new TimeoutException($"The audit log did not answer within {DeliveryTimeout.TotalSeconds} s.");
                }

                await append;
                pending.RemoveAt(0);
            }
        }
        catch (Exception ex)
        {
            _failures++;
            var delay = TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(_failures, 10) - 1)));
            LogDeliveryFailed(_logger, tenantId, pending.Count, delay.TotalSeconds, ex);
            Schedule(delay);
            return;
        }

        _failures = 0;
        try
        {
            // Only to forget what was delivered; if this write fails, a later delivery repeats the appends, which the log recognises.
            await _writeState();
        }
        catch (Exception ex)
        {
            LogClearFailed(_logger, tenantId, ex);
        }
    }

    private void Schedule(TimeSpan delay)
    {
        _retry?.Dispose();
        _retry = _grain.RegisterGrainTimer(
            static (outbox, _) => outbox.DeliverAsync(),
            this,
            new GrainTimerCreationOptions { DueTime = delay, Period = Timeout.InfiniteTimeSpan, KeepAlive = true });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit delivery to tenant {TenantId} failed ({Pending} pending); retrying in {DelaySeconds} s")]
    private static partial void LogDeliveryFailed(ILogger logger, string tenantId, int pending, double delaySeconds, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit records delivered to tenant {TenantId} but the outbox was not cleared; they will be re-sent and recognised")]
    private static partial void LogClearFailed(ILogger logger, string tenantId, Exception exception);
}
