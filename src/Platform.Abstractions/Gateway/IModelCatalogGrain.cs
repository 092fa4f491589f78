namespace Platform.Gateway;

/// <summary>
/// Model routes managed through the API (key <c>global</c>); they extend, and by name override, the routes
/// in configuration. Every silo polls <see cref="GetVersionAsync"/> and rebuilds its catalog on change.
/// </summary>
[Alias("Platform.Gateway.IModelCatalogGrain")]
public interface IModelCatalogGrain : IGrainWithStringKey
{
    [Alias("GetAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<ModelCatalogSnapshot> GetAsync();

    [Alias("GetVersionAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<long> GetVersionAsync();

    [Alias("UpsertAsync")]
    Task<ModelCatalogSnapshot> UpsertAsync(ModelRoute route, Platform.Tenants.Actor actor);

    /// <summary>Removes an API-managed route; false when there was none of that name.</summary>
    [Alias("RemoveAsync")]
    Task<bool> RemoveAsync(string name, Platform.Tenants.Actor actor);
}

[GenerateSerializer]
[Alias("Platform.Gateway.ModelCatalogSnapshot")]
public sealed record ModelCatalogSnapshot(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<ModelRoute> Routes);
