using Platform.Hosting;

namespace Platform.Tenants;

/// <summary>
/// One shard of the API key directory (see <see cref="IApiKeyDirectoryGrain"/>). Holds the keys whose hash
/// starts with its two hex digits; with 256 shards, 100,000 keys make about 400 per shard.
/// </summary>
public sealed class ApiKeyDirectoryGrain(
    [PersistentState("apikeys", PlatformStorage.Default)] IPersistentState<ApiKeyDirectoryState> state) : Grain, IApiKeyDirectoryGrain
{
    public Task<ApiKeyInfo?> FindAsync(string hash) =>
        Task.FromResult(state.State.Keys.GetValueOrDefault(hash));

    public async Task AddAsync(string hash, ApiKeyInfo key)
    {
        RequireInShard(hash);
        if (state.State.Keys.TryGetValue(hash, out var existing))
        {
            // A retried creation (bootstrap after a storage hiccup) of the same key is not a conflict.
            if (existing.Id == key.Id && existing.TenantId == key.TenantId && existing.Role == key.Role && existing.RevokedAt is null)
            {
                return;
            }

            throw new PlatformException(ErrorKind.Conflict, "A key with this secret already exists; choose another secret.");
        }

        state.State.Keys[hash] = key;
        await WriteOrRestoreAsync(hash, previous: null);
    }

    public async Task<ApiKeyInfo> RevokeAsync(string hash, DateTimeOffset at)
    {
        var key = state.State.Keys.GetValueOrDefault(hash) ?? throw PlatformException.NotFound("Key");
        if (key.RevokedAt is null)
        {
            state.State.Keys[hash] = key with { RevokedAt = at };
            await WriteOrRestoreAsync(hash, key);
        }

        return state.State.Keys[hash];
    }

    public async Task<int> ImportAsync(IReadOnlyDictionary<string, ApiKeyInfo> keys)
    {
        var changed = new List<(string Hash, ApiKeyInfo? Previous)>();
        foreach (var (hash, key) in keys)
        {
            RequireInShard(hash);
            var existing = state.State.Keys.GetValueOrDefault(hash);
            if (existing is null || (existing.RevokedAt is null && key.RevokedAt is not null))
            {
                changed.Add((hash, existing));
                state.State.Keys[hash] = key;
            }
        }

        if (changed.Count > 0)
        {
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                foreach (var (hash, previous) in changed)
                {
                    Restore(hash, previous);
                }

                throw;
            }
        }

        return changed.Count;
    }

    private void RequireInShard(string hash)
    {
        if (hash.Length != 64 || ApiKeySecret.ShardOf(hash) != this.GetPrimaryKeyString())
        {
            throw new ArgumentException($"Hash does not belong to key directory shard '{this.GetPrimaryKeyString()}'.", nameof(hash));
        }
    }

    /// <summary>Writes state; on failure puts back what was there, so memory never claims what storage does not hold.</summary>
    private async Task WriteOrRestoreAsync(string hash, ApiKeyInfo? previous)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            Restore(hash, previous);
            throw;
        }
    }

    private void Restore(string hash, ApiKeyInfo? previous)
    {
        if (previous is null)
        {
            state.State.Keys.Remove(hash);
        }
        else
        {
            state.State.Keys[hash] = previous;
        }
    }
}
