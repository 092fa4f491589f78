using Platform.Hosting;

namespace Platform.Tenants;

/// <summary>
/// Single writer of the first start: creates the system tenant and its admin key, and the demo
/// tenant with a client key, only when the store has never been bootstrapped.
/// </summary>
public sealed class BootstrapGrain(
    [PersistentState("bootstrap", PlatformStorage.Default)] IPersistentState<BootstrapState> state,
    TimeProvider time) : Grain, IBootstrapGrain
{
    public const string Key = "bootstrap";

    public async Task<BootstrapResult> EnsureAsync(BootstrapRequest request)
    {
        if (state.State.Done)
        {
            return new BootstrapResult(false, null, null);
        }

        var actor = Actor.System("bootstrap");
        var system = GrainFactory.GetGrain<ITenantGrain>(TenantIds.System);
        if (await system.GetAsync() is null)
        {
            await system.CreateAsync(new TenantSettings("Platform administration", AllowDirectModelAccess: false), actor);
        }

        var admin = await system.CreateKeyAsync(new NewApiKey("bootstrap admin", Role.Admin, null, request.AdminKey), actor);

        CreatedApiKey? demo = null;
        if (request.CreateDemoTenant)
        {
            var demoTenant = GrainFactory.GetGrain<ITenantGrain>(TenantIds.Demo);
            if (await demoTenant.GetAsync() is null)
            {
                await demoTenant.CreateAsync(new TenantSettings("Demo"), actor);
            }

            demo = await demoTenant.CreateKeyAsync(new NewApiKey("demo client", Role.Client, null, request.DemoClientKey), actor);
        }

        state.State.Done = true;
        state.State.At = time.GetUtcNow();
        await state.WriteStateAsync();
        return new BootstrapResult(true, admin, demo);
    }

    public Task<bool> IsKeyDirectoryReadyAsync() => Task.FromResult(state.State.KeyDirectoryReady);

    public async Task MarkKeyDirectoryReadyAsync()
    {
        if (!state.State.KeyDirectoryReady)
        {
            state.State.KeyDirectoryReady = true;
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State.KeyDirectoryReady = false;
                throw;
            }
        }
    }
}
