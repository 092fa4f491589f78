namespace Platform.Tenants;

/// <summary>Who performs an action: the authenticated key, its tenant and role, and the request it came with.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.Actor")]
public sealed record Actor(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string TenantId,
    [property: Id(2)] Role Role,
    [property: Id(3)] string RequestId)
{
    /// <summary>The platform itself (bootstrap).</summary>
    public static Actor System(string requestId) => new("system", TenantIds.System, Role.Admin, requestId);
}

[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.TenantSettings")]
public sealed record TenantSettings(
    [property: Id(0)] string DisplayName,
    [property: Id(1)] bool AllowDirectModelAccess = true,
    [property: Id(2)] string? WebhookUrl = null,
    [property: Id(3)] string? WebhookSecret = null,
    [property: Id(4)] int? RequestLogRetentionDays = null,
    [property: Id(5)] bool StoreRequestContent = false,
    [property: Id(6)] int? RequestContentMaxBytes = null)
{
    /// <summary>Days the request log keeps the tenant's rows (<see cref="RequestLogPolicy.DefaultRetentionDays"/> unless set).</summary>
    public int RetentionDays => RequestLogRetentionDays ?? RequestLogPolicy.DefaultRetentionDays;

    /// <summary>Bytes of prompt and of completion text the request log keeps per request; 0 when content is not stored.</summary>
    public int ContentLimitBytes => StoreRequestContent ? RequestContentMaxBytes ?? RequestLogPolicy.DefaultContentMaxBytes : 0;

    /// <summary>Never prints the webhook secret.</summary>
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"DisplayName = {DisplayName}, AllowDirectModelAccess = {AllowDirectModelAccess}, WebhookUrl = {WebhookUrl}, WebhookSecret = ***, ");
        builder.Append($"RequestLogRetentionDays = {RetentionDays}, StoreRequestContent = {StoreRequestContent}, RequestContentMaxBytes = {RequestContentMaxBytes}");
        return true;
    }
}

/// <summary>Bounds of a tenant's request log policy.</summary>
public static class RequestLogPolicy
{
    public const int DefaultRetentionDays = 30;
    public const int MaxRetentionDays = 3650;
    public const int DefaultContentMaxBytes = 8 * 1024;

    /// <summary>32 KB: what one Azure Table string property holds (64 KiB of UTF-16), so both stores keep the same text.</summary>
    public const int MaxContentMaxBytes = 32 * 1024;

    /// <summary>The first reason the policy is out of bounds, naming the field, or null.</summary>
    public static (string Message, string Field)? Check(TenantSettings settings) =>
        settings.RequestLogRetentionDays is < 1 or > MaxRetentionDays
            ? ($"requestLogRetentionDays must be between 1 and {MaxRetentionDays}.", "requestLogRetentionDays")
            : settings.RequestContentMaxBytes is < 1 or > MaxContentMaxBytes
                ? ($"requestContentMaxBytes must be between 1 and {MaxContentMaxBytes}.", "requestContentMaxBytes")
                : null;
}

[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.TenantInfo")]
public sealed record TenantInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] TenantSettings Settings,
    [property: Id(2)] bool Disabled,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset UpdatedAt);

/// <summary>An API key as stored: the secret itself is never kept, only its SHA-256.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.ApiKeyInfo")]
public sealed record ApiKeyInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string TenantId,
    [property: Id(2)] string Name,
    [property: Id(3)] Role Role,
    [property: Id(4)] string Prefix,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset? ExpiresAt,
    [property: Id(7)] DateTimeOffset? RevokedAt,
    [property: Id(8)] string CreatedBy)
{
    public bool IsUsableAt(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}

/// <summary>A key just created: the only time its secret is seen.</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.CreatedApiKey")]
public sealed record CreatedApiKey(
    [property: Id(0)] ApiKeyInfo Key,
    [property: Id(1)] string Secret);

[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.NewApiKey")]
public sealed record NewApiKey(
    [property: Id(0)] string Name,
    [property: Id(1)] Role Role,
    [property: Id(2)] DateTimeOffset? ExpiresAt,
    [property: Id(3)] string? Secret = null);

public static class TenantIds
{
    /// <summary>Splits a tenant-scoped grain key <c>{tenant}/{name}</c>.</summary>
    public static (string Tenant, string Name) Split(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return (key[..slash], key[(slash + 1)..]);
    }

    /// <summary>The tenant that holds the platform administrators' keys.</summary>
    public const string System = "system";

    /// <summary>The demo tenant the embedded profile creates on first start.</summary>
    public const string Demo = "demo";

    /// <summary>Lowercase letters, digits and hyphens, 2 to 63 characters, starting with a letter.</summary>
    public static bool IsValid(string? id) =>
        id is { Length: >= 2 and <= 63 }
        && char.IsAsciiLetterLower(id[0])
        && id[^1] != '-'
        && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}
