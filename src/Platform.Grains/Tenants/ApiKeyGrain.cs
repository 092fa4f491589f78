using Platform.Hosting;

namespace Platform.Tenants;

public sealed class ApiKeyGrain(
    [PersistentState("apikey", PlatformStorage.Default)] IPersistentState<ApiKeyGrainState> state) : Grain, IApiKeyGrain
{
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

    public async Task<ApiKeyInfo> RevokeAsync(DateTimeOffset at)
    {
        var key = state.State.Key ?? throw PlatformException.NotFound("Key");
        if (key.RevokedAt is null)
        {
            state.State.Key = key with { RevokedAt = at };
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State.Key = key;
                throw;
            }
        }

        return state.State.Key;
    }
}
