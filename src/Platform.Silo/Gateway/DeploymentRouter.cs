using Platform.Deployments;
using Platform.Silo.Auth;

namespace Platform.Silo.Gateway;

/// <summary>Which deployment arm serves a request.</summary>
public sealed record DeploymentRoute(DeploymentSnapshot Deployment, string Arm, Release Release);

/// <summary>
/// Resolves deployment names on the request path from a silo-local cache (no storage read per request; a change
/// made on any silo is served everywhere within <see cref="ApiKeyAuthenticator.MaxStaleness"/>), assigns each
/// request to stable or canary (sticky per end user, weighted random without one). Events are published by
/// <see cref="InferenceRecorder"/>.
/// </summary>
public sealed class DeploymentRouter(IGrainFactory grains, TimeProvider time)
{
    private readonly RefreshingCache<string, DeploymentSnapshot?> _deployments =
        new(time, TimeSpan.FromMilliseconds(400), ApiKeyAuthenticator.MaxStaleness, capacity: 100_000);

    public async ValueTask<DeploymentRoute?> RouteAsync(string tenant, string model, string? user)
    {
        if (!Platform.Prompts.PromptNames.IsValid(model))
        {
            // Not a possible deployment name: no grain activation, no cache entry.
            return null;
        }

        var snapshot = await _deployments.GetAsync($"{tenant}/{model}", key => grains.GetGrain<IDeploymentGrain>(key).GetAsync());
        if (snapshot is null)
        {
            return null;
        }

        var arm = ChooseArm(snapshot, user);
        return new DeploymentRoute(snapshot, arm, arm == Arms.Canary ? snapshot.Canary! : snapshot.Stable);
    }

    /// <summary>Sticky per user: the same user lands in the same bucket on every silo; a bucket below the weight is canary.</summary>
    public static string ChooseArm(DeploymentSnapshot deployment, string? user)
    {
        if (deployment.Canary is null || deployment.CanaryWeight <= 0)
        {
            return Arms.Stable;
        }

        if (deployment.CanaryWeight >= 100)
        {
            return Arms.Canary;
        }

        var bucket = user is { Length: > 0 } ? (int)(Fnv1a.Append(Fnv1a.Append(Fnv1a.Append(Fnv1a.Offset, deployment.Name), '\0'), user) % 100) : Random.Shared.Next(100);
        return bucket < deployment.CanaryWeight ? Arms.Canary : Arms.Stable;
    }

    public void Invalidate(string tenant, string name) => _deployments.Invalidate($"{tenant}/{name}");
}
