namespace Platform.Tenants;

/// <summary>One tenant: its settings, its enabled state and the index of its API keys. Key: tenant id.</summary>
[Alias("Platform.Tenants.ITenantGrain")]
public interface ITenantGrain : IGrainWithStringKey
{
    [Alias("CreateAsync")]
    Task<TenantInfo> CreateAsync(TenantSettings settings, Actor actor);

    /// <summary>The tenant, or null when it was never created.</summary>
    [Alias("GetAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<TenantInfo?> GetAsync();

    [Alias("UpdateAsync")]
    Task<TenantInfo> UpdateAsync(TenantSettings settings, Actor actor);

    [Alias("SetDisabledAsync")]
    Task<TenantInfo> SetDisabledAsync(bool disabled, Actor actor);

    [Alias("CreateKeyAsync")]
    Task<CreatedApiKey> CreateKeyAsync(NewApiKey request, Actor actor);

    [Alias("ListKeysAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync();

    [Alias("RevokeKeyAsync")]
    Task<ApiKeyInfo> RevokeKeyAsync(string keyId, Actor actor);

    /// <summary>Issues a new secret with the same name, role and expiry, and revokes the old one.</summary>
    [Alias("RotateKeyAsync")]
    Task<CreatedApiKey> RotateKeyAsync(string keyId, Actor actor);

    /// <summary>
    /// Registers this tenant's keys that predate the key directory (stored only in <see cref="IApiKeyGrain"/>)
    /// in the directory. Idempotent; a no-op once done. Returns how many keys were registered.
    /// </summary>
    [Alias("EnsureKeysInDirectoryAsync")]
    Task<int> EnsureKeysInDirectoryAsync();
}

/// <summary>
/// One shard of the API key directory: the keys whose hash starts with the shard's two hex digits
/// (256 shards), hash to key. The single writer of those keys and what authentication reads, so an
/// unknown key costs one call to an already-active shard, never a grain activation or storage read of its own.
/// Key: <c>00</c> to <c>ff</c>.
/// </summary>
[Alias("Platform.Tenants.IApiKeyDirectoryGrain")]
public interface IApiKeyDirectoryGrain : IGrainWithStringKey
{
    /// <summary>The key with this hash, or null when there is none.</summary>
    [Alias("FindAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<ApiKeyInfo?> FindAsync(string hash);

    /// <summary>Adds a new key; a retried add of the same key is not a conflict, another key with the same hash is.</summary>
    [Alias("AddAsync")]
    Task AddAsync(string hash, ApiKeyInfo key);

    [Alias("RevokeAsync")]
    Task<ApiKeyInfo> RevokeAsync(string hash, DateTimeOffset at);

    /// <summary>
    /// Registers keys that predate the directory. A hash already present keeps the directory's entry, unless
    /// only the imported one is revoked: a revocation is never undone. Returns how many entries changed.
    /// </summary>
    [Alias("ImportAsync")]
    Task<int> ImportAsync(IReadOnlyDictionary<string, ApiKeyInfo> keys);
}

/// <summary>
/// One API key, keyed by the hex SHA-256 of its secret. Before the key directory this grain was what
/// authentication read; it is now read only to migrate keys into <see cref="IApiKeyDirectoryGrain"/>,
/// and revocations are copied to it so that a silo of the previous version refuses a revoked key too.
/// </summary>
[Alias("Platform.Tenants.IApiKeyGrain")]
public interface IApiKeyGrain : IGrainWithStringKey
{
    [Alias("CreateAsync")]
    Task CreateAsync(ApiKeyInfo key);

    /// <summary>The key, or null when no key has this hash.</summary>
    [Alias("GetAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<ApiKeyInfo?> GetAsync();

    [Alias("RevokeAsync")]
    [Idempotent]
    Task<ApiKeyInfo> RevokeAsync(DateTimeOffset at);
}

/// <summary>The list of tenants (one instance, key <c>all</c>), for the admin's listing.</summary>
[Alias("Platform.Tenants.ITenantDirectoryGrain")]
public interface ITenantDirectoryGrain : IGrainWithStringKey
{
    [Alias("AddAsync")]
    [Idempotent]
    Task AddAsync(string tenantId);

    [Alias("ListAsync")]
    [Idempotent]
    Task<IReadOnlyList<string>> ListAsync();
}

/// <summary>The append-only audit log of one tenant. Key: tenant id.</summary>
[Alias("Platform.Tenants.IAuditLogGrain")]
public interface IAuditLogGrain : IGrainWithStringKey
{
    /// <summary>Appends the record and returns its sequence; a record whose entry id was appended recently is not appended twice.</summary>
    [Alias("AppendAsync")]
    Task<long> AppendAsync(AuditRecord record);

    [Alias("QueryAsync")]
    [Idempotent]
    Task<AuditPage> QueryAsync(AuditQuery query);
}

/// <summary>Creates the first admin key (and the demo tenant) exactly once per store. Key: <c>bootstrap</c>.</summary>
[Alias("Platform.Tenants.IBootstrapGrain")]
public interface IBootstrapGrain : IGrainWithStringKey
{
    [Alias("EnsureAsync")]
    Task<BootstrapResult> EnsureAsync(BootstrapRequest request);

    /// <summary>True once every tenant's keys have been registered in the key directory.</summary>
    [Alias("IsKeyDirectoryReadyAsync")]
    Task<bool> IsKeyDirectoryReadyAsync();

    [Alias("MarkKeyDirectoryReadyAsync")]
    Task MarkKeyDirectoryReadyAsync();
}

[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.BootstrapRequest")]
public sealed record BootstrapRequest(
    [property: Id(0)] string? AdminKey,
    [property: Id(1)] bool CreateDemoTenant,
    [property: Id(2)] string? DemoClientKey);

[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.BootstrapResult")]
public sealed record BootstrapResult(
    [property: Id(0)] bool Created,
    [property: Id(1)] CreatedApiKey? AdminKey,
    [property: Id(2)] CreatedApiKey? DemoClientKey);
