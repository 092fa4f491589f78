using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Platform.Silo.Auth;
using Platform.Silo.Hosting;
using Platform.Silo.Http;
using Platform.Tenants;

namespace Platform.Silo.Apis;

/// <summary>Tenants, their API keys and their audit log: <c>/api/v1/tenants</c>.</summary>
public static class TenantsApi
{
    public static RouteGroupBuilder MapTenantsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").WithTags("Tenants").RequireAuthorization();

        api.MapGet("/me", GetMe).RequireRoles(Role.Owner, Role.Operator, Role.Developer, Role.Viewer)
            .WithSummary("The calling key: its id, tenant and role.");

        var tenants = api.MapGroup("/tenants");
        tenants.MapPost("/", CreateTenant).RequireRoles(Role.Admin).WithIdempotency().WithSummary("Create a tenant (admin).");
        tenants.MapGet("/", ListTenants).RequireRoles(Role.Admin).WithSummary("List tenants (admin).");
        tenants.MapGet("/{tenant}", GetTenant).RequireRoles(Role.Owner, Role.Operator, Role.Developer, Role.Viewer)
            .WithSummary("Read a tenant.");
        tenants.MapPatch("/{tenant}", UpdateTenant).RequireRoles(Role.Owner).WithSummary("Update a tenant's settings.");
        tenants.MapPost("/{tenant}/disable", DisableTenant).RequireRoles(Role.Admin).WithIdempotency()
            .WithSummary("Disable a tenant: its keys stop working on every silo within a second.");
        tenants.MapPost("/{tenant}/enable", EnableTenant).RequireRoles(Role.Admin).WithIdempotency().WithSummary("Enable a disabled tenant.");

        tenants.MapGet("/{tenant}/keys", ListKeys).RequireRoles(Role.Owner).WithSummary("List API keys (never their secrets).");
        tenants.MapPost("/{tenant}/keys", CreateKey).RequireRoles(Role.Owner).WithIdempotency(keepBody: false)
            .WithSummary("Create an API key; the secret is in this response only.");
        tenants.MapDelete("/{tenant}/keys/{keyId}", RevokeKey).RequireRoles(Role.Owner)
            .WithSummary("Revoke an API key on every silo within a second.");
        tenants.MapPost("/{tenant}/keys/{keyId}/rotate", RotateKey).RequireRoles(Role.Owner).WithIdempotency(keepBody: false)
            .WithSummary("Issue a new secret for a key and revoke the old one.");

        tenants.MapGet("/{tenant}/audit", GetAudit).RequireRoles(Role.Owner)
            .WithSummary("Read the tenant's append-only audit log, oldest first, with time filters and a cursor.");
        return api;
    }

    public static Ok<CallerResponse> GetMe(HttpContext context)
    {
        var caller = context.GetCaller();
        return TypedResults.Ok(new CallerResponse(caller.KeyId, caller.TenantId, caller.Role.ToName()));
    }

    public static async Task<Created<TenantResponse>> CreateTenant(CreateTenantRequest request, HttpContext context, IGrainFactory grains)
    {
        if (!TenantIds.IsValid(request.Id))
        {
            throw new PlatformException(ErrorKind.Invalid, "id must be 2-63 lowercase letters, digits or hyphens, starting with a letter.", "id");
        }

        var settings = new TenantSettings(request.DisplayName ?? "", request.AllowDirectModelAccess ?? true);
        var tenant = await grains.GetGrain<ITenantGrain>(request.Id).CreateAsync(settings, context.GetActor());
        return TypedResults.Created($"/api/v1/tenants/{tenant.Id}", TenantResponse.From(tenant));
    }

    public static async Task<Ok<IReadOnlyList<TenantResponse>>> ListTenants(IGrainFactory grains)
    {
        var ids = await grains.GetGrain<ITenantDirectoryGrain>("all").ListAsync();
        var tenants = await Task.WhenAll(ids.Select(id => grains.GetGrain<ITenantGrain>(id).GetAsync()));
        return TypedResults.Ok<IReadOnlyList<TenantResponse>>([.. tenants.OfType<TenantInfo>().Select(TenantResponse.From)]);
    }

    public static async Task<Ok<TenantResponse>> GetTenant(string tenant, IGrainFactory grains) =>
        TypedResults.Ok(TenantResponse.From(await RequireTenantAsync(grains, tenant)));

    public static async Task<Ok<TenantResponse>> UpdateTenant(
        string tenant, UpdateTenantRequest request, HttpContext context, IGrainFactory grains, ApiKeyAuthenticator authenticator, IOptions<PlatformOptions> options)
    {
        TextLimits.Require(request.DisplayName, TextLimits.DisplayName, "displayName");
        TextLimits.Require(request.WebhookUrl, TextLimits.Url, "webhookUrl");
        var current = await RequireTenantAsync(grains, tenant);
        if (request.WebhookUrl is { Length: > 0 } url)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new PlatformException(ErrorKind.Invalid, "webhookUrl must be an absolute http(s) URL.", "webhookUrl");
            }

            // The URL is shown to every reader of the tenant and kept in the audit log: it must not carry a password.
            if (uri.UserInfo.Length > 0)
            {
                throw new PlatformException(
                    ErrorKind.Invalid, "webhookUrl must not contain a user name or password; the receiver verifies the webhookSecret signature.", "webhookUrl");
            }

            if (!options.Value.Webhooks.AllowPrivateNetworks && IsPrivate(uri))
            {
                throw new PlatformException(
                    ErrorKind.Invalid,
                    "webhookUrl points at a loopback, private or link-local address (allow with Platform:Webhooks:AllowPrivateNetworks).",
                    "webhookUrl");
            }
        }

        if (request.WebhookSecret is { } secret && secret.Length is < 16 or > 256)
        {
            throw new PlatformException(ErrorKind.Invalid, "webhookSecret must be 16-256 characters.", "webhookSecret");
        }

        var settings = new TenantSettings(
            request.DisplayName ?? current.Settings.DisplayName,
            request.AllowDirectModelAccess ?? current.Settings.AllowDirectModelAccess,
            request.WebhookUrl is null ? current.Settings.WebhookUrl : NullIfEmpty(request.WebhookUrl),
            request.WebhookSecret ?? current.Settings.WebhookSecret,
            request.RequestLogRetentionDays ?? current.Settings.RequestLogRetentionDays,
            request.StoreRequestContent ?? current.Settings.StoreRequestContent,
            request.RequestContentMaxBytes ?? current.Settings.RequestContentMaxBytes);
        if (RequestLogPolicy.Check(settings) is { } invalid)
        {
            throw new PlatformException(ErrorKind.Invalid, invalid.Message, invalid.Field);
        }

        if (settings.WebhookUrl is not null && settings.WebhookSecret is null)
        {
            throw new PlatformException(ErrorKind.Invalid, "A webhook needs a webhookSecret to sign its deliveries.", "webhookSecret");
        }
        var updated = await grains.GetGrain<ITenantGrain>(tenant).UpdateAsync(settings, context.GetActor());
        authenticator.InvalidateTenant(tenant);
        return TypedResults.Ok(TenantResponse.From(updated));
    }

    public static Task<Ok<TenantResponse>> DisableTenant(string tenant, HttpContext context, IGrainFactory grains, ApiKeyAuthenticator authenticator) =>
        SetDisabled(tenant, true, context, grains, authenticator);

    public static Task<Ok<TenantResponse>> EnableTenant(string tenant, HttpContext context, IGrainFactory grains, ApiKeyAuthenticator authenticator) =>
        SetDisabled(tenant, false, context, grains, authenticator);

    public static async Task<Ok<IReadOnlyList<ApiKeyResponse>>> ListKeys(string tenant, IGrainFactory grains)
    {
        var keys = await grains.GetGrain<ITenantGrain>(tenant).ListKeysAsync();
        return TypedResults.Ok<IReadOnlyList<ApiKeyResponse>>([.. keys.Select(ApiKeyResponse.From)]);
    }

    public static async Task<Created<CreatedApiKeyResponse>> CreateKey(string tenant, CreateKeyRequest request, HttpContext context, IGrainFactory grains)
    {
        if (!Roles.TryParse(request.Role, out var role))
        {
            throw new PlatformException(ErrorKind.Invalid, $"role must be one of: {string.Join(", ", Roles.Names)}.", "role");
        }

        var caller = context.GetCaller();
        if (role == Role.Admin && caller.Role != Role.Admin)
        {
            throw new PlatformException(ErrorKind.Forbidden, "Only an admin can create admin keys.", "role");
        }

        var created = await grains.GetGrain<ITenantGrain>(tenant).CreateKeyAsync(new NewApiKey(request.Name, role, request.ExpiresAt), context.GetActor());
        return TypedResults.Created($"/api/v1/tenants/{tenant}/keys/{created.Key.Id}", CreatedApiKeyResponse.From(created));
    }

    public static async Task<Ok<ApiKeyResponse>> RevokeKey(string tenant, string keyId, HttpContext context, IGrainFactory grains, ApiKeyAuthenticator authenticator)
    {
        var key = await grains.GetGrain<ITenantGrain>(tenant).RevokeKeyAsync(keyId, context.GetActor());
        authenticator.InvalidateKeys();
        return TypedResults.Ok(ApiKeyResponse.From(key));
    }

    public static async Task<Ok<CreatedApiKeyResponse>> RotateKey(string tenant, string keyId, HttpContext context, IGrainFactory grains, ApiKeyAuthenticator authenticator)
    {
        var created = await grains.GetGrain<ITenantGrain>(tenant).RotateKeyAsync(keyId, context.GetActor());
        authenticator.InvalidateKeys();
        return TypedResults.Ok(CreatedApiKeyResponse.From(created));
    }

    public static async Task<Ok<AuditPageResponse>> GetAudit(
        string tenant,
        IGrainFactory grains,
        DateTimeOffset? from = null,
        DateTimeOffset? to = null,
        long? after = null,
        [Range(1, 500)] int limit = 100)
    {
        await RequireTenantAsync(grains, tenant);
        if (limit is < 1 or > 500)
        {
            throw new PlatformException(ErrorKind.Invalid, "limit must be between 1 and 500.", "limit");
        }

        var page = await grains.GetGrain<IAuditLogGrain>(tenant).QueryAsync(new AuditQuery(from, to, after, limit));
        return TypedResults.Ok(new AuditPageResponse(page.Entries, page.NextAfterSequence));
    }

    private static async Task<Ok<TenantResponse>> SetDisabled(string tenant, bool disabled, HttpContext context, IGrainFactory grains, ApiKeyAuthenticator authenticator)
    {
        var updated = await grains.GetGrain<ITenantGrain>(tenant).SetDisabledAsync(disabled, context.GetActor());
        authenticator.InvalidateTenant(tenant);
        return TypedResults.Ok(TenantResponse.From(updated));
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    /// <summary>
    /// Literal addresses and localhost, refused early for a clear answer; names are checked again where it counts,
    /// at connect time on every delivery (<see cref="Platform.Notifications.WebhookSender"/>).
    /// </summary>
    private static bool IsPrivate(Uri uri) =>
        uri.IsLoopback
        || uri.Host.TrimEnd('.').Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (System.Net.IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && Platform.Notifications.NetworkAddresses.IsPrivate(ip));

    private static async Task<TenantInfo> RequireTenantAsync(IGrainFactory grains, string tenant) =>
        (TenantIds.IsValid(tenant) ? await grains.GetGrain<ITenantGrain>(tenant).GetAsync() : null)
        ?? throw PlatformException.NotFound($"Tenant '{tenant}'");
}

public sealed record CallerResponse(string KeyId, string TenantId, string Role);

public sealed record CreateTenantRequest
{
    public required string Id { get; init; }

    public required string DisplayName { get; init; }

    public bool? AllowDirectModelAccess { get; init; }
}

public sealed record UpdateTenantRequest
{
    public string? DisplayName { get; init; }

    public bool? AllowDirectModelAccess { get; init; }

    /// <summary>Where deployment notifications are posted ("" removes it).</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>HMAC-SHA256 key of the X-Platform-Signature header; write-only.</summary>
    public string? WebhookSecret { get; init; }

    /// <summary>Days the request log keeps the tenant's requests, 1-3650 (default 30).</summary>
    public int? RequestLogRetentionDays { get; init; }

    /// <summary>Whether the request log keeps prompt and completion text (default false).</summary>
    public bool? StoreRequestContent { get; init; }

    /// <summary>Bytes of prompt and of completion text kept per request when content is stored, 1-32768 (default 8192).</summary>
    public int? RequestContentMaxBytes { get; init; }
}

public sealed record TenantResponse(
    string Id,
    string DisplayName,
    bool AllowDirectModelAccess,
    bool Disabled,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string? WebhookUrl,
    bool WebhookSecretSet,
    int RequestLogRetentionDays,
    bool StoreRequestContent,
    int RequestContentMaxBytes)
{
    public static TenantResponse From(TenantInfo t) => new(
        t.Id,
        t.Settings.DisplayName,
        t.Settings.AllowDirectModelAccess,
        t.Disabled,
        t.CreatedAt,
        t.UpdatedAt,
        t.Settings.WebhookUrl,
        t.Settings.WebhookSecret is not null,
        t.Settings.RetentionDays,
        t.Settings.StoreRequestContent,
        t.Settings.RequestContentMaxBytes ?? RequestLogPolicy.DefaultContentMaxBytes);
}

public sealed record CreateKeyRequest
{
    public required string Name { get; init; }

    /// <summary>One of admin, owner, operator, developer, viewer, client.</summary>
    public required string Role { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }
}

public sealed record ApiKeyResponse(
    string Id,
    string TenantId,
    string Name,
    string Role,
    string Prefix,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    string CreatedBy)
{
    public static ApiKeyResponse From(ApiKeyInfo k) =>
        new(k.Id, k.TenantId, k.Name, k.Role.ToName(), k.Prefix, k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.CreatedBy);
}

/// <summary>The one response that carries a key's secret.</summary>
public sealed record CreatedApiKeyResponse(ApiKeyResponse Key, string Secret)
{
    public static CreatedApiKeyResponse From(CreatedApiKey created) => new(ApiKeyResponse.From(created.Key), created.Secret);
}

public sealed record AuditPageResponse(IReadOnlyList<AuditEntry> Entries, long? NextAfter);
