using Microsoft.Extensions.Logging;
using Platform.Hosting;

namespace Platform.Tenants;

/// <summary>
/// Single writer of a tenant's settings and key index. Each change's audit record is written with the change
/// (<see cref="AuditOutbox"/>) and then delivered to the tenant's log.
/// </summary>
public sealed partial class TenantGrain(
    [PersistentState("tenant", PlatformStorage.Default)] IPersistentState<TenantGrainState> state,
    TimeProvider time,
    ILogger<TenantGrain> logger) : Grain, ITenantGrain
{
    private AuditOutbox? _audit;

    private string TenantId => this.GetPrimaryKeyString();

    private AuditOutbox Audit => _audit ??= new AuditOutbox(this, GrainFactory, () => TenantId, () => state.State.PendingAudit, () => state.WriteStateAsync(), time, logger);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Audit.ResumeIfPending();
        return Task.CompletedTask;
    }

    public async Task<TenantInfo> CreateAsync(TenantSettings settings, Actor actor)
    {
        if (!TenantIds.IsValid(TenantId))
        {
            throw new PlatformException(ErrorKind.Invalid, "Tenant id must be 2-63 lowercase letters, digits or hyphens, starting with a letter.", "id");
        }

        ValidateSettings(settings);
        if (state.State.Tenant is not null)
        {
            throw new PlatformException(ErrorKind.Conflict, $"Tenant '{TenantId}' already exists.", "id");
        }

        // Idempotent, and before the tenant's write, so a saved tenant is always listed (the listing skips ids never created).
        await GrainFactory.GetGrain<ITenantDirectoryGrain>(TenantDirectoryGrain.Key).AddAsync(TenantId);
        var now = time.GetUtcNow();
        var created = new TenantInfo(TenantId, settings, Disabled: false, now, now);
        state.State.Tenant = created;
        state.State.KeysInDirectory = true;
        await WriteOrRestoreAsync(null, state.State.Keys, Audit.Add(actor, "tenant.create", $"tenant/{TenantId}", before: null, after: Describe(created)));
        await Audit.DeliverAsync();
        return created;
    }

    public Task<TenantInfo?> GetAsync() => Task.FromResult(state.State.Tenant);

    public async Task<TenantInfo> UpdateAsync(TenantSettings settings, Actor actor)
    {
        var tenant = Require();
        ValidateSettings(settings);
        var updated = tenant with { Settings = settings, UpdatedAt = time.GetUtcNow() };
        state.State.Tenant = updated;
        await WriteOrRestoreAsync(tenant, state.State.Keys, Audit.Add(actor, "tenant.update", $"tenant/{TenantId}", Describe(tenant), Describe(updated)));
        await Audit.DeliverAsync();
        return updated;
    }

    public async Task<TenantInfo> SetDisabledAsync(bool disabled, Actor actor)
    {
        var tenant = Require();
        if (tenant.Id == TenantIds.System && disabled)
        {
            throw new PlatformException(ErrorKind.Invalid, "The system tenant holds the administrators' keys and cannot be disabled.");
        }

        if (tenant.Disabled == disabled)
        {
            return tenant;
        }

        var updated = tenant with { Disabled = disabled, UpdatedAt = time.GetUtcNow() };
        state.State.Tenant = updated;
        await WriteOrRestoreAsync(
            tenant, state.State.Keys, Audit.Add(actor, disabled ? "tenant.disable" : "tenant.enable", $"tenant/{TenantId}", Describe(tenant), Describe(updated)));
        await Audit.DeliverAsync();
        return updated;
    }

    public async Task<CreatedApiKey> CreateKeyAsync(NewApiKey request, Actor actor)
    {
        Require();
        ValidateNewKey(request);
        await EnsureKeysInDirectoryAsync();
        var created = await IssueKeyAsync(request, actor, audit: info => ("key.create", $"key/{info.Id}", null, Describe(info)));
        await Audit.DeliverAsync();
        return created;
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync()
    {
        Require();
        await EnsureKeysInDirectoryAsync();
        var keys = await Task.WhenAll(state.State.Keys.Values.Select(hash => Directory(hash).FindAsync(hash)));
        return [.. keys.OfType<ApiKeyInfo>().OrderBy(k => k.CreatedAt)];
    }

    public async Task<ApiKeyInfo> RevokeKeyAsync(string keyId, Actor actor)
    {
        var before = await GetKeyAsync(keyId);
        RequireMayManage(before, actor);
        var after = await RevokeInDirectoryAsync(state.State.Keys[keyId]);

        // The revocation lives in the key directory; its record goes through this grain's outbox with an id taken from
        // the revocation itself, so a retry after a failure here records it once (the log drops a repeated id).
        await RecordAsync(actor, "key.revoke", keyId, Describe(before), Describe(after), after.RevokedAt);
        return after;
    }

    public async Task<CreatedApiKey> RotateKeyAsync(string keyId, Actor actor)
    {
        var old = await GetKeyAsync(keyId);
        RequireMayManage(old, actor);
        if (old.RevokedAt is not null)
        {
            throw new PlatformException(ErrorKind.Conflict, $"Key '{keyId}' is revoked; create a new key instead.");
        }

        var created = await IssueKeyAsync(new NewApiKey(old.Name, old.Role, old.ExpiresAt), actor, audit: null);
        var revoked = await RevokeInDirectoryAsync(state.State.Keys[keyId]);
        await RecordAsync(actor, "key.rotate", keyId, Describe(revoked), Describe(created.Key), revoked.RevokedAt);
        return created;
    }

    private async Task<CreatedApiKey> IssueKeyAsync(
        NewApiKey request, Actor actor, Func<ApiKeyInfo, (string Action, string Target, string? Before, string? After)>? audit)
    {
        var secret = request.Secret ?? ApiKeySecret.Generate();
        var hash = ApiKeySecret.Hash(secret);
        var info = new ApiKeyInfo(
            ApiKeySecret.IdFromHash(hash),
            TenantId,
            request.Name,
            request.Role,
            ApiKeySecret.DisplayPrefix(secret),
            time.GetUtcNow(),
            request.ExpiresAt,
            RevokedAt: null,
            CreatedBy: actor.KeyId);

        // The directory first: if the index write below fails, the key exists but is unlisted and
        // usable by nobody (its secret was never shown); the reverse order could list a key that never worked.
        await Directory(hash).AddAsync(hash, info);
        var keys = new Dictionary<string, string>(state.State.Keys);
        state.State.Keys[info.Id] = hash;
        var record = audit?.Invoke(info) is { } a ? Audit.Add(actor, a.Action, a.Target, a.Before, a.After) : null;
        await WriteOrRestoreAsync(state.State.Tenant, keys, record);
        return new CreatedApiKey(info, secret);
    }

    public async Task<int> EnsureKeysInDirectoryAsync()
    {
        if (state.State.KeysInDirectory || state.State.Tenant is null)
        {
            return 0;
        }

        // Keys stored before the directory live only in their own grain: read each once and register it in its shard.
        var legacy = await Task.WhenAll(state.State.Keys.Values.Select(async hash => (hash, key: await GrainFactory.GetGrain<IApiKeyGrain>(hash).GetAsync())));
        var imported = await Task.WhenAll(legacy
            .Where(k => k.key is not null)
            .GroupBy(k => ApiKeySecret.ShardOf(k.hash))
            .Select(shard => GrainFactory.GetGrain<IApiKeyDirectoryGrain>(shard.Key)
                .ImportAsync(shard.ToDictionary(k => k.hash, k => k.key!, StringComparer.Ordinal))));
        state.State.KeysInDirectory = true;
        await WriteOrRestoreAsync(state.State.Tenant, state.State.Keys, record: null, keysInDirectory: false);
        return imported.Sum();
    }

    private IApiKeyDirectoryGrain Directory(string hash) => GrainFactory.GetGrain<IApiKeyDirectoryGrain>(ApiKeySecret.ShardOf(hash));

    /// <summary>
    /// Revokes in the directory (what authentication reads), then in the key's own grain when it has one
    /// (keys from before the directory), so that a silo of the previous version refuses the key during an upgrade.
    /// </summary>
    private async Task<ApiKeyInfo> RevokeInDirectoryAsync(string hash)
    {
        var at = time.GetUtcNow();
        var revoked = await Directory(hash).RevokeAsync(hash, at);
        var legacy = GrainFactory.GetGrain<IApiKeyGrain>(hash);
        if (await legacy.GetAsync() is { RevokedAt: null })
        {
            await legacy.RevokeAsync(at);
        }

        return revoked;
    }

    private async Task<ApiKeyInfo> GetKeyAsync(string keyId)
    {
        Require();
        await EnsureKeysInDirectoryAsync();
        if (!state.State.Keys.TryGetValue(keyId, out var hash)
            || await Directory(hash).FindAsync(hash) is not { } key)
        {
            throw PlatformException.NotFound($"Key '{keyId}'");
        }

        return key;
    }

    /// <summary>Writes state (with its audit record); on failure puts back what was there, so memory never claims what storage does not hold.</summary>
    private async Task WriteOrRestoreAsync(TenantInfo? tenant, Dictionary<string, string> keys, AuditRecord? record, bool? keysInDirectory = null)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Tenant = tenant;
            state.State.Keys = keys;
            state.State.KeysInDirectory = keysInDirectory ?? state.State.KeysInDirectory;
            if (record is not null)
            {
                Audit.Remove(record);
            }

            throw;
        }
    }

    /// <summary>
    /// Saves the audit record of a key change already saved in the key directory in this grain's outbox, then delivers
    /// it. The change is saved, so a failure to save the record is not the caller's error (a rotation's new secret
    /// must reach the caller): the record stays pending in memory and is delivered from there.
    /// </summary>
    private async Task RecordAsync(Actor actor, string action, string keyId, string? before, string? after, DateTimeOffset? at)
    {
        Audit.Add(actor, action, $"key/{keyId}", before, after, entryId: $"{action}:{keyId}:{at?.UtcTicks}");
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex) when (ex is not PlatformException)
        {
            LogOutboxNotSaved(logger, TenantId, action, ex);
        }

        await Audit.DeliverAsync();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {TenantId}: the audit record of {Action} was not saved with the tenant; it is delivered from memory")]
    private static partial void LogOutboxNotSaved(ILogger logger, string tenantId, string action, Exception exception);

    /// <summary>Only an admin may revoke or rotate an admin key (rotation would hand the caller a new admin secret).</summary>
    private static void RequireMayManage(ApiKeyInfo key, Actor actor)
    {
        if (key.Role == Role.Admin && actor.Role != Role.Admin)
        {
            throw new PlatformException(ErrorKind.Forbidden, "Only an admin can revoke or rotate an admin key.");
        }
    }

    private TenantInfo Require() =>
        state.State.Tenant ?? throw PlatformException.NotFound($"Tenant '{TenantId}'");

    private void ValidateNewKey(NewApiKey request)
    {
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > TextLimits.Name)
        {
            throw new PlatformException(ErrorKind.Invalid, $"Key name must be 1-{TextLimits.Name} characters.", "name");
        }

        if (request.Role == Role.Admin && TenantId != TenantIds.System)
        {
            throw new PlatformException(ErrorKind.Invalid, $"Admin keys belong to the '{TenantIds.System}' tenant only.", "role");
        }

        if (request.Secret is { } secret && !ApiKeySecret.IsWellFormed(secret))
        {
            throw new PlatformException(ErrorKind.Invalid, $"A chosen secret must be {ApiKeySecret.FormatDescription}.", "secret");
        }

        if (request.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            throw new PlatformException(ErrorKind.Invalid, "expiresAt must be in the future.", "expiresAt");
        }
    }

    private static void ValidateSettings(TenantSettings settings)
    {
        if (string.IsNullOrWhiteSpace(settings.DisplayName) || settings.DisplayName.Length > TextLimits.DisplayName)
        {
            throw new PlatformException(ErrorKind.Invalid, $"displayName must be 1-{TextLimits.DisplayName} characters.", "displayName");
        }

        TextLimits.Require(settings.WebhookUrl, TextLimits.Url, "webhookUrl");
        if (RequestLogPolicy.Check(settings) is { } invalid)
        {
            throw new PlatformException(ErrorKind.Invalid, invalid.Message, invalid.Field);
        }
    }

    private static string Describe(TenantInfo t) =>
        $"displayName={t.Settings.DisplayName}; allowDirectModelAccess={t.Settings.AllowDirectModelAccess}; disabled={t.Disabled}; webhook={t.Settings.WebhookUrl ?? "none"}; "
        + $"requestLogRetentionDays={t.Settings.RetentionDays}; storeRequestContent={t.Settings.StoreRequestContent}; "
        + $"requestContentMaxBytes={t.Settings.RequestContentMaxBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "default"}";

    private static string Describe(ApiKeyInfo k) =>
        $"id={k.Id}; name={k.Name}; role={k.Role.ToName()}; expiresAt={k.ExpiresAt?.ToString("O") ?? "never"}; revoked={k.RevokedAt is not null}";
}
