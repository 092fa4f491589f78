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

    /// <summary>Audit records of saved changes not yet in the tenant's log (see <see cref="AuditOutbox"/>).</summary>
    [Id(3)]
    public List<AuditRecord> PendingAudit { get; set; } = [];
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
    /// <summary>The newest entries, not yet sealed into a segment (before segments existed: the whole log).</summary>
    [Id(0)]
    public List<AuditEntry> Entries { get; set; } = [];

    [Id(1)]
    public int SealedSegments { get; set; }

    /// <summary>Sequence of the last entry (0: empty, or a log stored as one record and not yet split).</summary>
    [Id(2)]
    public long LastSequence { get; set; }

    /// <summary>Entry ids of the segment sealed last, so an append retried across a seal is still recognised.</summary>
    [Id(3)]
    public Dictionary<string, long> PreviousIds { get; set; } = [];

    [Id(4)]
    public DateTimeOffset LastTime { get; set; }
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
