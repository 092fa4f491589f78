using Platform.Tenants;

namespace Platform.Tests.Tenants;

[Collection(ClusterCollection.Name)]
public sealed class BootstrapGrainTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Ensure_OnEmptyStore_CreatesAdminAndDemoKeys_AndNeverAgain()
    {
        var bootstrap = fixture.Grains.GetGrain<IBootstrapGrain>(BootstrapGrain.Key);
        var adminSecret = "admin-" + new string('a', 40);

        var first = await bootstrap.EnsureAsync(new BootstrapRequest(adminSecret, CreateDemoTenant: true, DemoClientKey: null));
        var second = await bootstrap.EnsureAsync(new BootstrapRequest(null, CreateDemoTenant: true, DemoClientKey: null));

        Assert.True(first.Created);
        Assert.Equal(adminSecret, first.AdminKey?.Secret);
        Assert.Equal(Role.Admin, first.AdminKey?.Key.Role);
        Assert.Equal(Role.Client, first.DemoClientKey?.Key.Role);
        Assert.StartsWith(ApiKeySecret.Prefix, first.DemoClientKey?.Secret, StringComparison.Ordinal);
        Assert.False(second.Created);
        Assert.Null(second.AdminKey);

        var systemKeys = await fixture.Grains.GetGrain<ITenantGrain>(TenantIds.System).ListKeysAsync();
        Assert.Single(systemKeys);
        var demoKeys = await fixture.Grains.GetGrain<ITenantGrain>(TenantIds.Demo).ListKeysAsync();
        Assert.Single(demoKeys);
    }
}
