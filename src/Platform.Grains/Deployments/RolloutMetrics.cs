using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Platform.Deployments;

/// <summary>
/// Rollout instruments on the <c>Platform</c> meter: the monitor's decisions and the rollbacks they (or operators) make.
/// Grains run inside the silo process, so a static meter is exported with the host's; the grains project cannot see the
/// host's <c>PlatformMeter</c>, so it opens a meter of the same name (listeners select meters by name).
/// </summary>
public static class RolloutMetrics
{
    private static readonly Meter Meter = new("Platform");

    public static readonly Counter<long> Decisions = Meter.CreateCounter<long>(
        "platform.monitor.decisions", "{decision}", "Rollout decisions the monitor acted on (advance, promote, rollback).");

    public static readonly Counter<long> Rollbacks = Meter.CreateCounter<long>(
        "platform.rollbacks", "{rollback}", "Canary rollbacks, automatic (by the monitor) or manual.");

    public static void Decided(string tenant, RolloutAction action)
    {
        if (Decisions.Enabled)
        {
            Decisions.Add(1, new TagList { { "platform.tenant", tenant }, { "platform.action", action.ToString().ToLowerInvariant() } });
        }
    }

    public static void RolledBack(string tenant, bool automatic)
    {
        if (Rollbacks.Enabled)
        {
            Rollbacks.Add(1, new TagList { { "platform.tenant", tenant }, { "platform.trigger", automatic ? "automatic" : "manual" } });
        }
    }
}
