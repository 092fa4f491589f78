namespace Platform.Tenants;

[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.AuditEntry")]
public sealed record AuditEntry(
    [property: Id(0)] long Sequence,
    [property: Id(1)] DateTimeOffset Time,
    [property: Id(2)] string TenantId,
    [property: Id(3)] string ActorKeyId,
    [property: Id(4)] string ActorTenantId,
    [property: Id(5)] string ActorRole,
    [property: Id(6)] string Action,
    [property: Id(7)] string Target,
    [property: Id(8)] string? Before,
    [property: Id(9)] string? After,
    [property: Id(10)] string RequestId,
    [property: Id(11)] string? EntryId = null);

/// <summary>
/// What a grain asks the audit log to append; the log assigns the sequence. <see cref="EntryId"/> makes the append
/// idempotent (a second append with the same id returns the first one's sequence); <see cref="At"/> is when the
/// change was made (the log's own clock when absent; never earlier than the entry before it).
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.AuditRecord")]
public sealed record AuditRecord(
    [property: Id(0)] Actor Actor,
    [property: Id(1)] string Action,
    [property: Id(2)] string Target,
    [property: Id(3)] string? Before,
    [property: Id(4)] string? After,
    [property: Id(5)] string? EntryId = null,
    [property: Id(6)] DateTimeOffset? At = null);

[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.AuditQuery")]
public sealed record AuditQuery(
    [property: Id(0)] DateTimeOffset? From,
    [property: Id(1)] DateTimeOffset? To,
    [property: Id(2)] long? AfterSequence,
    [property: Id(3)] int Limit);

[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.AuditPage")]
public sealed record AuditPage(
    [property: Id(0)] IReadOnlyList<AuditEntry> Entries,
    [property: Id(1)] long? NextAfterSequence);
