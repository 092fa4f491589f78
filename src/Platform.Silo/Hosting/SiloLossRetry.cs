using System.Collections.Concurrent;
using System.Reflection;
using Orleans.Concurrency;
using Orleans.Runtime.Messaging;

namespace Platform.Silo.Hosting;

/// <summary>
/// When a call fails because the silo hosting its grain is gone, and whether and when to try it again. Only
/// methods of the platform's grain interfaces marked <c>[ReadOnly]</c> or <see cref="IdempotentAttribute"/> are
/// retried, once, after the cluster's membership has moved on (the dead silo declared, so the grain can activate
/// on a survivor) or <see cref="MaxWait"/> has passed, whichever comes first.
/// </summary>
public sealed class SiloLossRetryPolicy
{
    /// <summary>Longest wait for a membership change before the one retry (death is declared in about 2 s).</summary>
    public static readonly TimeSpan DefaultMaxWait = TimeSpan.FromSeconds(5);

    /// <summary>How often the membership version is checked while waiting.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private static readonly Assembly Contracts = typeof(IdempotentAttribute).Assembly;
    private readonly ConcurrentDictionary<MethodInfo, bool> _retryable = new();
    private readonly TimeProvider _time;
    private readonly Func<TimeSpan, CancellationToken, Task> _delay;

    public SiloLossRetryPolicy(TimeProvider time, TimeSpan? maxWait = null, Func<TimeSpan, CancellationToken, Task>? delay = null)
    {
        _time = time;
        MaxWait = maxWait ?? DefaultMaxWait;
        _delay = delay ?? ((span, token) => Task.Delay(span, time, token));
    }

    public TimeSpan MaxWait { get; }

    /// <summary>True for a method of a platform grain interface marked <c>[ReadOnly]</c> or <c>[Idempotent]</c>.</summary>
    public bool IsRetryable(MethodInfo? method) =>
        method is not null && _retryable.GetOrAdd(method, static m =>
            m.DeclaringType?.Assembly == Contracts
            && (m.IsDefined(typeof(ReadOnlyAttribute), inherit: false) || m.IsDefined(typeof(IdempotentAttribute), inherit: false)));

    /// <summary>
    /// True when <paramref name="failure"/> (or an exception inside it) says the target silo is unreachable or dead:
    /// the call never reached a live grain, or its answer was lost with the silo. Domain refusals, storage conflicts
    /// and timeouts are not silo loss and are never retried here.
    /// </summary>
    public static bool IsSiloLoss(Exception? failure)
    {
        for (var e = failure; e is not null; e = e.InnerException)
        {
            if (e is SiloUnavailableException or OrleansMessageRejectionException or ConnectionFailedException)
            {
                return true;
            }

            if (e is AggregateException { InnerExceptions.Count: > 1 } many)
            {
                return many.InnerExceptions.Any(IsSiloLoss);
            }
        }

        return false;
    }

    /// <summary>
    /// Waits until the membership version passes <paramref name="versionAtCall"/> (the version when the failed call
    /// started) or <see cref="MaxWait"/> has passed. Returns true when membership changed.
    /// </summary>
    public async Task<bool> WaitForMembershipChangeAsync(Func<long> membershipVersion, long versionAtCall, CancellationToken cancellationToken = default)
    {
        var start = _time.GetTimestamp();
        while (membershipVersion() <= versionAtCall)
        {
            if (_time.GetElapsedTime(start) >= MaxWait)
            {
                return false;
            }

            await _delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }
}

/// <summary>
/// Retries, once, a call to a read or idempotent grain method that failed because its silo was lost, so that
/// callers (API-key lookups above all) see an answer rather than a 503 while the cluster learns of a dead silo.
/// One filter for every grain call this silo makes, instead of a try/catch in every endpoint.
/// </summary>
internal sealed partial class SiloLossRetryFilter(SiloLossRetryPolicy policy, IServiceProvider services, ILogger<SiloLossRetryFilter> logger)
    : IOutgoingGrainCallFilter
{
    // Resolved on first use: the membership service itself makes grain calls through this filter's runtime.
    private IClusterMembershipService? _membership;

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        if (!policy.IsRetryable(context.InterfaceMethod))
        {
            await context.Invoke();
            return;
        }

        var membership = _membership ??= services.GetRequiredService<IClusterMembershipService>();
        var versionAtCall = membership.CurrentSnapshot.Version.Value;
        Exception? failure;
        try
        {
            await context.Invoke();
            failure = context.Response?.Exception;
        }
        catch (Exception ex) when (SiloLossRetryPolicy.IsSiloLoss(ex))
        {
            failure = ex;
        }

        if (!SiloLossRetryPolicy.IsSiloLoss(failure))
        {
            return;
        }

        var changed = await policy.WaitForMembershipChangeAsync(() => membership.CurrentSnapshot.Version.Value, versionAtCall);
        LogRetrying(logger, context.InterfaceName, context.MethodName, failure!.GetType().Name, changed);
        await context.Invoke();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Interface}.{Method} failed with {Failure} (its silo is gone); retrying once (membership changed: {Changed}).")]
    private static partial void LogRetrying(ILogger logger, string @interface, string method, string failure, bool changed);
}
