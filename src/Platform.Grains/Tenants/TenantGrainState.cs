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

    /// <summary>
    /// True when every key in <see cref="Keys"/> is in the key directory. False for tenants stored before the
    /// directory existed (and after a silo of that version rewrites the state): their keys get registered.
    /// </summary>
    [Id(2)]
    public bool KeysInDirectory { get; set; }
}

[GenerateSerializer]
[Alias("Platform.Tenants.ApiKeyDirectoryState")]
public sealed class ApiKeyDirectoryState
{
    /// <summary>Key hash to key.</summary>
    [Id(0)]
    public Dictionary<string, ApiKeyInfo> Keys { get; set; } = new(StringComparer.Ordinal);
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

    /// <summary>True once every tenant's keys were registered in the key directory (the upgrade step ran).</summary>
    [Id(2)]
    public bool KeyDirectoryReady { get; set; }
}
