using Microsoft.Extensions.Logging;
using Platform.Hosting;

namespace Platform.Tenants;

public sealed class ApiKeyGrain(
    [PersistentState("apikey", PlatformStorage.Default)] IPersistentState<ApiKeyGrainState> state,
    TimeProvider time,
    ILogger<ApiKeyGrain> logger) : Grain, IApiKeyGrain
{
    private AuditOutbox? _audit;

    private AuditOutbox Audit => _audit ??= new AuditOutbox(
        this, GrainFactory, () => state.State.Key?.TenantId ?? TenantIds.System, () => state.State.PendingAudit, () => state.WriteStateAsync(), time, logger);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Audit.ResumeIfPending();
        return Task.CompletedTask;
    }

    public async Task CreateAsync(ApiKeyInfo key)
    {
        if (state.State.Key is { } existing)
        {
            // A retried creation (bootstrap after a storage hiccup) of the same key is not a conflict.
            if (existing.Id == key.Id && existing.TenantId == key.TenantId && existing.Role == key.Role && existing.RevokedAt is null)
            {
                return;
            }

            throw new PlatformException(ErrorKind.Conflict, "A key with this secret already exists; choose another secret.");
        }

        state.State.Key = key;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Key = null;
            throw;
        }
    }

    public Task<ApiKeyInfo?> GetAsync() => Task.FromResult(state.State.Key);

    public async Task<ApiKeyInfo> RevokeAsync(DateTimeOffset at, AuditRecord? audit)
    {
        var key = state.State.Key ?? throw PlatformException.NotFound("Key");
        if (key.RevokedAt is null)
        {
            // The revocation and its audit record are one write; the record reaches the tenant's log afterwards.
            var record = audit is null ? null : Audit.Add(audit.Actor, audit.Action, audit.Target, audit.Before, audit.After);
            state.State.Key = key with { RevokedAt = at };
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State.Key = key;
                if (record is not null)
                {
                    Audit.Remove(record);
                }

                throw;
            }

            await Audit.DeliverAsync();
        }

        return state.State.Key;
    }
}
