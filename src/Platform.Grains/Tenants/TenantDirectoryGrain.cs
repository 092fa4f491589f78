using Platform.Hosting;

namespace Platform.Tenants;

public sealed class TenantDirectoryGrain(
    [PersistentState("tenants", PlatformStorage.Default)] IPersistentState<TenantDirectoryState> state) : Grain, ITenantDirectoryGrain
{
    public const string Key = "all";

    public async Task AddAsync(string tenantId)
    {
        if (state.State.TenantIds.Add(tenantId))
        {
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State.TenantIds.Remove(tenantId);
                throw;
            }
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.TenantIds]);
}
