using System.Diagnostics.Metrics;

namespace Platform.Silo.Observability;

/// <summary>The platform's one <see cref="Meter"/>; every platform instrument is created on it.</summary>
public static class PlatformMeter
{
    public static readonly Meter Meter = new("Platform");
}
