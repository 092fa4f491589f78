using Platform.Hosting;

namespace Platform.Tenants;

public sealed class ApiKeyGrain(
    [PersistentState("apikey", PlatformStorage.Default)] IPersistentState<ApiKeyGrainState> state) : Grain, IApiKeyGrain
{
    public async Task CreateAsync(ApiKeyInfo key)
    {
        if (state.State.Key is not null)
        {
            throw new PlatformException(ErrorKind.Conflict, "A key with this secret already exists; choose another secret.");
        }

        state.State.Key = key;
        await state.WriteStateAsync();
    }

    public Task<ApiKeyInfo?> GetAsync() => Task.FromResult(state.State.Key);

    public async Task<ApiKeyInfo> RevokeAsync(DateTimeOffset at)
    {
        var key = state.State.Key ?? throw PlatformException.NotFound("Key");
        if (key.RevokedAt is null)
        {
            state.State.Key = key with { RevokedAt = at };
            await state.WriteStateAsync();
        }

        return state.State.Key;
    }
}
