using System.Diagnostics.Metrics;

namespace Platform.Silo.Observability;

public static class PlatformMeter
{
    public static readonly Meter Meter = new("Platform");
}
