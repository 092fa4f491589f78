using System.Text.Json;
using Microsoft.Extensions.Logging;
using Platform.Hosting;
using Platform.Tenants;

namespace Platform.Gateway;

[GenerateSerializer]
[Alias("Platform.Gateway.ModelCatalogState")]
public sealed class ModelCatalogState
{
    [Id(0)]
    public long Version { get; set; }

    [Id(1)]
    public List<ModelRoute> Routes { get; set; } = [];

    /// <summary>Audit records of saved changes not yet in the system tenant's log (see <see cref="AuditOutbox"/>).</summary>
    [Id(2)]
    public List<AuditRecord> PendingAudit { get; set; } = [];
}

/// <summary>The routes in this silo's configuration (<c>Platform:Models</c>), which API-managed routes extend or override.</summary>
public sealed record ConfiguredModelRoutes(IReadOnlyList<ModelRoute> Routes);

/// <summary>
/// Single writer of the API-managed model routes; every change is audited in the system tenant's log.
/// Each change is validated here, against the whole catalog it would produce (configured routes merged with
/// the stored ones), so two concurrent changes can never both pass against a catalog neither saw whole.
/// </summary>
public sealed class ModelCatalogGrain(
    [PersistentState("modelcatalog", PlatformStorage.Default)] IPersistentState<ModelCatalogState> state,
    ConfiguredModelRoutes configured,
    TimeProvider time,
    ILogger<ModelCatalogGrain> logger) : Grain, IModelCatalogGrain
{
    public const string Key = "global";

    private AuditOutbox? _audit;

    private AuditOutbox Audit => _audit ??= new AuditOutbox(this, GrainFactory, () => TenantIds.System, () => state.State.PendingAudit, () => state.WriteStateAsync(), time, logger);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Audit.ResumeIfPending();
        return Task.CompletedTask;
    }

    public Task<ModelCatalogSnapshot> GetAsync() => Task.FromResult(Snapshot());

    public Task<long> GetVersionAsync() => Task.FromResult(state.State.Version);

    public async Task<ModelCatalogSnapshot> UpsertAsync(ModelRoute route, Actor actor)
    {
        ThrowIfInvalid([.. state.State.Routes.Where(r => r.Name != route.Name), route]);
        var index = state.State.Routes.FindIndex(r => r.Name == route.Name);
        var before = index >= 0 ? Describe(state.State.Routes[index]) : null;
        var previous = new List<ModelRoute>(state.State.Routes);
        if (index >= 0)
        {
            state.State.Routes[index] = route;
        }
        else
        {
            state.State.Routes.Add(route);
        }

        await CommitAsync(previous, actor, "model.upsert", route.Name, before, Describe(route));
        return Snapshot();
    }

    public async Task<bool> RemoveAsync(string name, Actor actor)
    {
        var index = state.State.Routes.FindIndex(r => r.Name == name);
        if (index < 0)
        {
            return false;
        }

        ThrowIfInvalid([.. state.State.Routes.Where(r => r.Name != name)]);
        var before = Describe(state.State.Routes[index]);
        var previous = new List<ModelRoute>(state.State.Routes);
        state.State.Routes.RemoveAt(index);
        await CommitAsync(previous, actor, "model.remove", name, before, null);
        return true;
    }

    /// <summary>Writes the change with its audit record (delivered to the system tenant's log afterwards).</summary>
    private async Task CommitAsync(List<ModelRoute> previous, Actor actor, string action, string name, string? before, string? after)
    {
        state.State.Version++;
        var record = Audit.Add(actor, action, $"model/{name}", before, after);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Version--;
            state.State.Routes = previous;
            Audit.Remove(record);
            throw;
        }

        await Audit.DeliverAsync();
    }

    /// <summary>Refuses a change whose merged catalog breaks a rule (say a fallback to a route another change just removed).</summary>
    private void ThrowIfInvalid(List<ModelRoute> apiRoutes)
    {
        var failures = ModelRouteRules.Validate(ModelRouteRules.Merge(configured.Routes, apiRoutes), "routes");
        if (failures.Count > 0)
        {
            throw new PlatformException(ErrorKind.Invalid, string.Join(" ", failures));
        }
    }

    private ModelCatalogSnapshot Snapshot() => new(state.State.Version, [.. state.State.Routes]);

    // Routes hold no secrets (credentials are environment variable names), so the whole route is the summary.
    private static string Describe(ModelRoute route) => JsonSerializer.Serialize(route);
}
