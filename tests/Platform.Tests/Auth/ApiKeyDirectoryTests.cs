using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Platform.Hosting;
using Platform.Silo.Auth;
using Platform.Tenants;

namespace Platform.Tests.Auth;

/// <summary>The key directory on the test cluster: what a lookup activates, and the upgrade of keys stored before it.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ApiKeyDirectoryTests(ClusterFixture fixture)
{
    private static readonly Actor Admin = new("key_admin", TenantIds.System, Role.Admin, "req-test");

    [Fact]
    public async Task UnknownWellFormedKeys_ActivateNoKeyGrain_AndNoMoreThanTheShards()
    {
        var authenticator = new ApiKeyAuthenticator(fixture.Grains, TimeProvider.System);
        var keyGrainsBefore = await ActivationsAsync("Platform.Tenants.ApiKeyGrain");

        for (var i = 0; i < 1000; i++)
        {
            Assert.Null(await authenticator.AuthenticateAsync(ApiKeySecret.Generate()));
        }

        Assert.True(await ActivationsAsync("Platform.Tenants.ApiKeyGrain") <= keyGrainsBefore, "an unknown key activated a key grain");
        Assert.InRange(await ActivationsAsync("Platform.Tenants.ApiKeyDirectoryGrain"), 1, 256);
        Assert.Equal(0, authenticator.CachedKeyCount);
    }

    [Fact]
    public async Task KnownKey_Authenticates_AndStaysCachedThroughAFloodOfUnknownKeys()
    {
        var tenant = await NewTenantAsync();
        var created = await tenant.CreateKeyAsync(new NewApiKey("ci", Role.Client, null), Admin);
        var authenticator = new ApiKeyAuthenticator(fixture.Grains, TimeProvider.System);

        Assert.NotNull(await authenticator.AuthenticateAsync(created.Secret));
        for (var i = 0; i < 500; i++)
        {
            await authenticator.AuthenticateAsync(ApiKeySecret.Generate());
        }

        Assert.Equal(1, authenticator.CachedKeyCount);
        Assert.Equal(created.Key.Id, (await authenticator.AuthenticateAsync(created.Secret))?.KeyId);
    }

    [Fact]
    public async Task KeyStoredBeforeTheDirectory_IsRegisteredByTheUpgradeStep_ThenAuthenticatesAndRevokes()
    {
        // A store written by the previous version: the key only in its own grain, the tenant not marked as migrated.
        var tenantId = "t" + Guid.NewGuid().ToString("N")[..12];
        var secret = ApiKeySecret.Generate();
        var hash = ApiKeySecret.Hash(secret);
        var now = DateTimeOffset.UtcNow;
        var info = new ApiKeyInfo(ApiKeySecret.IdFromHash(hash), tenantId, "old", Role.Viewer, ApiKeySecret.DisplayPrefix(secret), now, null, null, "system");
        await fixture.Grains.GetGrain<IApiKeyGrain>(hash).CreateAsync(info);
        var tenant = fixture.Grains.GetGrain<ITenantGrain>(tenantId);
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(PlatformStorage.Default);
        await storage.WriteStateAsync("tenant", tenant.GetGrainId(), new GrainState<TenantGrainState>(new TenantGrainState
        {
            Tenant = new TenantInfo(tenantId, new TenantSettings("Old tenant"), Disabled: false, now, now),
            Keys = { [info.Id] = hash },
        }));
        var authenticator = new ApiKeyAuthenticator(fixture.Grains, TimeProvider.System);
        Assert.Null(await authenticator.AuthenticateAsync(secret));

        Assert.Equal(1, await tenant.EnsureKeysInDirectoryAsync());
        Assert.Equal(0, await tenant.EnsureKeysInDirectoryAsync());

        Assert.Equal(info.Id, (await authenticator.AuthenticateAsync(secret))?.KeyId);
        Assert.Equal(info.Id, Assert.Single(await tenant.ListKeysAsync()).Id);
        await tenant.RevokeKeyAsync(info.Id, Admin);
        authenticator.InvalidateKeys();
        Assert.Null(await authenticator.AuthenticateAsync(secret));
        Assert.NotNull((await fixture.Grains.GetGrain<IApiKeyGrain>(hash).GetAsync())?.RevokedAt);
    }

    [Fact]
    public async Task KeyOperations_OnAnUnmigratedTenant_RegisterItsKeysFirst()
    {
        var tenantId = "t" + Guid.NewGuid().ToString("N")[..12];
        var secret = ApiKeySecret.Generate();
        var hash = ApiKeySecret.Hash(secret);
        var now = DateTimeOffset.UtcNow;
        var info = new ApiKeyInfo(ApiKeySecret.IdFromHash(hash), tenantId, "old", Role.Client, ApiKeySecret.DisplayPrefix(secret), now, null, null, "system");
        await fixture.Grains.GetGrain<IApiKeyGrain>(hash).CreateAsync(info);
        var tenant = fixture.Grains.GetGrain<ITenantGrain>(tenantId);
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(PlatformStorage.Default);
        await storage.WriteStateAsync("tenant", tenant.GetGrainId(), new GrainState<TenantGrainState>(new TenantGrainState
        {
            Tenant = new TenantInfo(tenantId, new TenantSettings("Old tenant"), Disabled: false, now, now),
            Keys = { [info.Id] = hash },
        }));

        await tenant.CreateKeyAsync(new NewApiKey("new", Role.Client, null), Admin);

        var found = await fixture.Grains.GetGrain<IApiKeyDirectoryGrain>(ApiKeySecret.ShardOf(hash)).FindAsync(hash);
        Assert.Equal(info.Id, found?.Id);
        Assert.Equal(0, await tenant.EnsureKeysInDirectoryAsync());
    }

    [Fact]
    public async Task Directory_RefusesAHashOfAnotherShard()
    {
        var hash = ApiKeySecret.Hash(ApiKeySecret.Generate());
        var otherShard = ApiKeySecret.ShardOf(hash) == "00" ? "01" : "00";
        var info = new ApiKeyInfo(ApiKeySecret.IdFromHash(hash), "t", "x", Role.Client, "sk…", DateTimeOffset.UtcNow, null, null, "system");

        await Assert.ThrowsAsync<ArgumentException>(() => fixture.Grains.GetGrain<IApiKeyDirectoryGrain>(otherShard).AddAsync(hash, info));
    }

    [Fact]
    public async Task Import_NeverUndoesARevocation_AndTakesOneFromTheOldStore()
    {
        var hash = ApiKeySecret.Hash(ApiKeySecret.Generate());
        var shard = fixture.Grains.GetGrain<IApiKeyDirectoryGrain>(ApiKeySecret.ShardOf(hash));
        var info = new ApiKeyInfo(ApiKeySecret.IdFromHash(hash), "t", "x", Role.Client, "sk…", DateTimeOffset.UtcNow, null, null, "system");
        var revoked = info with { RevokedAt = DateTimeOffset.UtcNow };

        Assert.Equal(1, await shard.ImportAsync(new Dictionary<string, ApiKeyInfo> { [hash] = info }));
        Assert.Equal(1, await shard.ImportAsync(new Dictionary<string, ApiKeyInfo> { [hash] = revoked }));
        Assert.Equal(0, await shard.ImportAsync(new Dictionary<string, ApiKeyInfo> { [hash] = info }));

        Assert.NotNull((await shard.FindAsync(hash))?.RevokedAt);
    }

    private async Task<ITenantGrain> NewTenantAsync()
    {
        var tenant = fixture.Grains.GetGrain<ITenantGrain>("t" + Guid.NewGuid().ToString("N")[..12]);
        await tenant.CreateAsync(new TenantSettings("Test tenant"), Admin);
        return tenant;
    }

    private async Task<int> ActivationsAsync(string grainClass)
    {
        var statistics = await fixture.Grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        return statistics.Where(s => s.GrainType.StartsWith(grainClass + ",", StringComparison.Ordinal) || s.GrainType == grainClass)
            .Sum(s => s.ActivationCount);
    }
}
