namespace Platform.Tenants;

[GenerateSerializer]
[Alias("Platform.Tenants.TenantGrainState")]
public sealed class TenantGrainState
{
    [Id(0)]
    public TenantInfo? Tenant { get; set; }

    /// <summary>Key id to key hash (the hash is the API key grain's key).</summary>
    [Id(1)]
    public Dictionary<string, string> Keys { get; set; } = [];
}

[GenerateSerializer]
[Alias("Platform.Tenants.ApiKeyGrainState")]
public sealed class ApiKeyGrainState
{
    [Id(0)]
    public ApiKeyInfo? Key { get; set; }
}

[GenerateSerializer]
[Alias("Platform.Tenants.TenantDirectoryState")]
public sealed class TenantDirectoryState
{
    [Id(0)]
    public SortedSet<string> TenantIds { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer]
[Alias("Platform.Tenants.AuditLogState")]
public sealed class AuditLogState
{
    [Id(0)]
    public List<AuditEntry> Entries { get; set; } = [];
}

[GenerateSerializer]
[Alias("Platform.Tenants.BootstrapState")]
public sealed class BootstrapState
{
    [Id(0)]
    public bool Done { get; set; }

    [Id(1)]
    public DateTimeOffset? At { get; set; }
}
