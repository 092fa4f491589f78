using Platform.Gateway;
using Platform.Tenants;

namespace Platform.Tests.Gateway;

/// <summary>The catalog grain is the single writer of API-managed routes, so it is where a change is validated.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ModelCatalogGrainTests(ClusterFixture fixture)
{
    private static readonly Actor Admin = new("key_admin", TenantIds.System, Role.Admin, "req-test");

    private IModelCatalogGrain Catalog => fixture.Grains.GetGrain<IModelCatalogGrain>(ModelCatalogGrain.Key);

    private static string NewName() => "r" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Upsert_NamingAMissingFallback_IsRefusedAndNothingIsStored()
    {
        var name = NewName();

        var refused = await Assert.ThrowsAsync<PlatformException>(() =>
            Catalog.UpsertAsync(new ModelRoute { Name = name, Fallbacks = ["missing-" + name] }, Admin));

        Assert.Equal(ErrorKind.Invalid, refused.Kind);
        Assert.Contains("Fallbacks", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain((await Catalog.GetAsync()).Routes, r => r.Name == name);
    }

    [Fact]
    public async Task Remove_ARouteAnotherNamesAsFallback_IsRefusedAndBothStay()
    {
        var (target, user) = (NewName(), NewName());
        await Catalog.UpsertAsync(new ModelRoute { Name = target }, Admin);
        await Catalog.UpsertAsync(new ModelRoute { Name = user, Fallbacks = [target] }, Admin);

        var refused = await Assert.ThrowsAsync<PlatformException>(() => Catalog.RemoveAsync(target, Admin));

        Assert.Equal(ErrorKind.Invalid, refused.Kind);
        var routes = (await Catalog.GetAsync()).Routes.Select(r => r.Name).ToList();
        Assert.Contains(target, routes);
        Assert.Contains(user, routes);
    }

    [Fact]
    public async Task Upsert_ChangingTheModeOfAFallbackTarget_IsRefused()
    {
        var (target, user) = (NewName(), NewName());
        await Catalog.UpsertAsync(new ModelRoute { Name = target }, Admin);
        await Catalog.UpsertAsync(new ModelRoute { Name = user, Fallbacks = [target] }, Admin);

        var refused = await Assert.ThrowsAsync<PlatformException>(() =>
            Catalog.UpsertAsync(new ModelRoute { Name = target, Mode = ModelModes.Embedding }, Admin));

        Assert.Contains("another mode", refused.Message, StringComparison.Ordinal);
        Assert.Equal(ModelModes.Chat, (await Catalog.GetAsync()).Routes.Single(r => r.Name == target).Mode);
    }
}
