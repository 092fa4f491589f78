using Azure.Data.Tables;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Platform.Silo.Storage;

namespace Platform.Silo.Health;

/// <summary>
/// <c>/health/live</c> touches nothing but the process; <c>/health/ready</c> answers 200 only when
/// this silo is an active cluster member and its storage answers.
/// </summary>
public static class HealthEndpoints
{
    private const string ReadyTag = "ready";

    private static readonly HttpMethodMetadata ProbeMethods = new(["GET", "HEAD"]);

    public static IServiceCollection AddPlatformHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<SiloActiveHealthCheck>("silo", tags: [ReadyTag])
            .AddCheck<StorageHealthCheck>("storage", tags: [ReadyTag]);
        return services;
    }

    public static IEndpointRouteBuilder MapPlatformHealthChecks(this IEndpointRouteBuilder endpoints)
    {
        // Probes read: other methods are a 405, like every other endpoint's.
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).WithMetadata(ProbeMethods);
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag) }).WithMetadata(ProbeMethods);
        return endpoints;
    }
}

internal sealed class SiloActiveHealthCheck(IClusterMembershipService membership, ILocalSiloDetails localSilo) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = membership.CurrentSnapshot.GetSiloStatus(localSilo.SiloAddress);
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy("silo active")
            : HealthCheckResult.Unhealthy($"silo is {status}"));
    }
}

/// <summary>Round trip to the profile's storage.</summary>
public interface IStorageProbe
{
    Task CheckAsync(CancellationToken cancellationToken);
}

internal sealed class SqliteStorageProbe(SqliteDatabase database) : IStorageProbe
{
    public Task CheckAsync(CancellationToken cancellationToken) => database.PingAsync(cancellationToken);
}

internal sealed class AzureTableStorageProbe(TableServiceClient tables) : IStorageProbe
{
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        await foreach (var _ in tables.QueryAsync(maxPerPage: 1, cancellationToken: cancellationToken).AsPages().ConfigureAwait(false))
        {
            break;
        }
    }
}

internal sealed class StorageHealthCheck(IStorageProbe probe) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await probe.CheckAsync(timeout.Token).ConfigureAwait(false);
            return HealthCheckResult.Healthy("storage reachable");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return HealthCheckResult.Unhealthy("storage unreachable: " + ex.GetType().Name);
        }
    }
}
