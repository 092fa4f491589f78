using Platform.Tenants;

namespace Platform.Silo.Auth;

/// <summary>An authenticated caller.</summary>
public sealed record Caller(string KeyId, string TenantId, Role Role, bool AllowDirectModelAccess = true);

/// <summary>
/// Resolves a presented secret to its key and tenant through silo-local caches (one grain call per
/// key per half second at most). Revocations and tenant disables are visible on every silo within
/// <see cref="MaxStaleness"/>. Unknown and known keys take the same path: hash, cache, grain call on a miss.
/// </summary>
public sealed class ApiKeyAuthenticator
{
    public static readonly TimeSpan MaxStaleness = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RefreshAfter = TimeSpan.FromMilliseconds(400);

    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly RefreshingCache<string, ApiKeyInfo?> _keys;
    private readonly RefreshingCache<string, TenantInfo?> _tenants;

    public ApiKeyAuthenticator(IGrainFactory grains, TimeProvider time)
    {
        _grains = grains;
        _time = time;
        _keys = new RefreshingCache<string, ApiKeyInfo?>(time, RefreshAfter, MaxStaleness, capacity: 100_000);
        _tenants = new RefreshingCache<string, TenantInfo?>(time, RefreshAfter, MaxStaleness, capacity: 100_000);
    }

    public async ValueTask<Caller?> AuthenticateAsync(string secret)
    {
        var hash = ApiKeySecret.Hash(secret);
        var key = await _keys.GetAsync(hash, h => _grains.GetGrain<IApiKeyGrain>(h).GetAsync()).ConfigureAwait(false);
        if (key is null || !key.IsUsableAt(_time.GetUtcNow()))
        {
            return null;
        }

        var tenant = await _tenants.GetAsync(key.TenantId, id => _grains.GetGrain<ITenantGrain>(id).GetAsync()).ConfigureAwait(false);
        return tenant is { Disabled: false }
            ? new Caller(key.Id, key.TenantId, key.Role, tenant.Settings.AllowDirectModelAccess)
            : null;
    }

    /// <summary>Drops this silo's cached keys at once (other silos follow within <see cref="MaxStaleness"/>).</summary>
    public void InvalidateKeys() => _keys.Clear();

    public void InvalidateTenant(string tenantId) => _tenants.Invalidate(tenantId);
}
