using Platform.Tenants;

namespace Platform.Silo.Auth;

/// <summary>An authenticated caller; <paramref name="ContentLimitBytes"/> is the tenant's request log content cap (0: no content).</summary>
public sealed record Caller(string KeyId, string TenantId, Role Role, bool AllowDirectModelAccess = true, int ContentLimitBytes = 0);

/// <summary>
/// Resolves a presented secret to its key and tenant. A malformed secret is refused before it is hashed;
/// a well-formed one is looked up in a silo-local cache, then in its key directory shard (one call to an
/// already-active grain; no grain per key is activated). Only keys that exist are cached, so a flood of
/// unknown keys neither grows the cache nor evicts the keys in it. Revocations and tenant disables are
/// visible on every silo within <see cref="MaxStaleness"/>.
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
        _keys = new RefreshingCache<string, ApiKeyInfo?>(time, RefreshAfter, MaxStaleness, capacity: 100_000, keep: static key => key is not null);
        _tenants = new RefreshingCache<string, TenantInfo?>(time, RefreshAfter, MaxStaleness, capacity: 100_000);
    }

    /// <summary>Keys held in this silo's cache (known keys only).</summary>
    public int CachedKeyCount => _keys.Count;

    public async ValueTask<Caller?> AuthenticateAsync(string secret)
    {
        if (!ApiKeySecret.IsWellFormed(secret))
        {
            return null;
        }

        var hash = ApiKeySecret.Hash(secret);
        var key = await _keys.GetAsync(hash, FindAsync).ConfigureAwait(false);
        if (key is null || !key.IsUsableAt(_time.GetUtcNow()))
        {
            return null;
        }

        var tenant = await _tenants.GetAsync(key.TenantId, id => _grains.GetGrain<ITenantGrain>(id).GetAsync()).ConfigureAwait(false);
        return tenant is { Disabled: false }
            ? new Caller(key.Id, key.TenantId, key.Role, tenant.Settings.AllowDirectModelAccess, tenant.Settings.ContentLimitBytes)
            : null;
    }

    /// <summary>Drops this silo's cached keys at once (other silos follow within <see cref="MaxStaleness"/>).</summary>
    public void InvalidateKeys() => _keys.Clear();

    public void InvalidateTenant(string tenantId) => _tenants.Invalidate(tenantId);

    private Task<ApiKeyInfo?> FindAsync(string hash) =>
        _grains.GetGrain<IApiKeyDirectoryGrain>(ApiKeySecret.ShardOf(hash)).FindAsync(hash);
}
