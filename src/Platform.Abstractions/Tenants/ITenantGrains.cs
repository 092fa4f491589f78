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
}

/// <summary>One API key, keyed by the hex SHA-256 of its secret, so authentication is one lookup.</summary>
[Alias("Platform.Tenants.IApiKeyGrain")]
public interface IApiKeyGrain : IGrainWithStringKey
{
    [Alias("CreateAsync")]
    Task CreateAsync(ApiKeyInfo key);

    /// <summary>The key, or null when no key has this hash.</summary>
    [Alias("GetAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<ApiKeyInfo?> GetAsync();

    /// <summary>Revokes the key; <paramref name="audit"/> is stored with the revocation and then appended to the tenant's log.</summary>
    [Alias("RevokeAsync")]
    Task<ApiKeyInfo> RevokeAsync(DateTimeOffset at, AuditRecord? audit);
}

/// <summary>The list of tenants (one instance, key <c>all</c>), for the admin's listing.</summary>
[Alias("Platform.Tenants.ITenantDirectoryGrain")]
public interface ITenantDirectoryGrain : IGrainWithStringKey
{
    [Alias("AddAsync")]
    Task AddAsync(string tenantId);

    [Alias("ListAsync")]
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
    Task<AuditPage> QueryAsync(AuditQuery query);
}

/// <summary>Creates the first admin key (and the demo tenant) exactly once per store. Key: <c>bootstrap</c>.</summary>
[Alias("Platform.Tenants.IBootstrapGrain")]
public interface IBootstrapGrain : IGrainWithStringKey
{
    [Alias("EnsureAsync")]
    Task<BootstrapResult> EnsureAsync(BootstrapRequest request);
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
