using System.Text;
using Microsoft.Data.Sqlite;
using Platform.Tenants;

namespace Platform.Tests.Tenants;

[Collection(ClusterCollection.Name)]
public sealed class TenantGrainTests(ClusterFixture fixture)
{
    private static readonly Actor Admin = new("key_admin", TenantIds.System, Role.Admin, "req-test");

    private static string NewTenantId() => "t" + Guid.NewGuid().ToString("N")[..12];

    private async Task<(string Id, ITenantGrain Grain)> NewTenantAsync()
    {
        var id = NewTenantId();
        var grain = fixture.Grains.GetGrain<ITenantGrain>(id);
        await grain.CreateAsync(new TenantSettings("Test tenant"), Admin);
        return (id, grain);
    }

    [Fact]
    public async Task Create_ThenGet_ReturnsTheSettings()
    {
        var (id, grain) = await NewTenantAsync();

        var tenant = await grain.GetAsync();

        Assert.NotNull(tenant);
        Assert.Equal(id, tenant.Id);
        Assert.Equal("Test tenant", tenant.Settings.DisplayName);
        Assert.False(tenant.Disabled);
    }

    [Fact]
    public async Task Create_Twice_IsConflict()
    {
        var (_, grain) = await NewTenantAsync();

        var error = await Assert.ThrowsAsync<PlatformException>(() => grain.CreateAsync(new TenantSettings("Again"), Admin));
        Assert.Equal(ErrorKind.Conflict, error.Kind);
    }

    [Fact]
    public async Task Create_WithInvalidId_IsRejectedAndNothingIsStored()
    {
        var grain = fixture.Grains.GetGrain<ITenantGrain>("Bad_Id");

        var error = await Assert.ThrowsAsync<PlatformException>(() => grain.CreateAsync(new TenantSettings("x"), Admin));
        Assert.Equal(ErrorKind.Invalid, error.Kind);
        Assert.Null(await grain.GetAsync());
    }

    [Fact]
    public async Task CreateKey_StoresOnlyTheHash()
    {
        var (id, grain) = await NewTenantAsync();

        var created = await grain.CreateKeyAsync(new NewApiKey("ci", Role.Developer, null), Admin);

        var hash = ApiKeySecret.Hash(created.Secret);
        var stored = await fixture.Grains.GetGrain<IApiKeyDirectoryGrain>(ApiKeySecret.ShardOf(hash)).FindAsync(hash);
        Assert.NotNull(stored);
        Assert.Equal(id, stored.TenantId);
        Assert.Equal(Role.Developer, stored.Role);
        Assert.False(DatabaseContains(created.Secret), "the secret appears in the store");
        Assert.False(DatabaseContains(created.Secret[ApiKeySecret.Prefix.Length..]), "the secret's body appears in the store");
    }

    [Fact]
    public async Task RevokeKey_MarksItUnusableAndListShowsIt()
    {
        var (_, grain) = await NewTenantAsync();
        var created = await grain.CreateKeyAsync(new NewApiKey("ci", Role.Viewer, null), Admin);

        var revoked = await grain.RevokeKeyAsync(created.Key.Id, Admin);

        Assert.NotNull(revoked.RevokedAt);
        Assert.False(revoked.IsUsableAt(DateTimeOffset.UtcNow));
        var listed = Assert.Single(await grain.ListKeysAsync());
        Assert.NotNull(listed.RevokedAt);
    }

    [Fact]
    public async Task RotateKey_IssuesNewSecretAndRevokesTheOld()
    {
        var (_, grain) = await NewTenantAsync();
        var old = await grain.CreateKeyAsync(new NewApiKey("svc", Role.Operator, null), Admin);

        var rotated = await grain.RotateKeyAsync(old.Key.Id, Admin);

        Assert.NotEqual(old.Secret, rotated.Secret);
        Assert.Equal(Role.Operator, rotated.Key.Role);
        var oldKey = await FindAsync(old.Secret);
        var newKey = await FindAsync(rotated.Secret);
        Assert.NotNull(oldKey?.RevokedAt);
        Assert.Null(newKey?.RevokedAt);
    }

    [Fact]
    public async Task RevokeKey_OfAnotherTenant_IsNotFound()
    {
        var (_, first) = await NewTenantAsync();
        var (_, second) = await NewTenantAsync();
        var key = await first.CreateKeyAsync(new NewApiKey("ci", Role.Viewer, null), Admin);

        var error = await Assert.ThrowsAsync<PlatformException>(() => second.RevokeKeyAsync(key.Key.Id, Admin));
        Assert.Equal(ErrorKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task CreateAdminKey_OutsideSystemTenant_IsRejected()
    {
        var (_, grain) = await NewTenantAsync();

        var error = await Assert.ThrowsAsync<PlatformException>(() => grain.CreateKeyAsync(new NewApiKey("x", Role.Admin, null), Admin));
        Assert.Equal("role", error.Field);
    }

    [Fact]
    public async Task CreateKey_ExpiringInThePast_IsRejected()
    {
        var (_, grain) = await NewTenantAsync();

        var error = await Assert.ThrowsAsync<PlatformException>(
            () => grain.CreateKeyAsync(new NewApiKey("x", Role.Viewer, DateTimeOffset.UtcNow.AddMinutes(-1)), Admin));
        Assert.Equal("expiresAt", error.Field);
    }

    [Fact]
    public async Task EveryChange_IsAppendedToTheAuditLogInOrder()
    {
        var (id, grain) = await NewTenantAsync();
        var key = await grain.CreateKeyAsync(new NewApiKey("ci", Role.Viewer, null), Admin);
        await grain.RevokeKeyAsync(key.Key.Id, Admin);
        await grain.UpdateAsync(new TenantSettings("Renamed"), Admin);
        await grain.SetDisabledAsync(true, Admin);

        var page = await fixture.Grains.GetGrain<IAuditLogGrain>(id).QueryAsync(new AuditQuery(null, null, null, 100));

        Assert.Equal(["tenant.create", "key.create", "key.revoke", "tenant.update", "tenant.disable"], page.Entries.Select(e => e.Action));
        Assert.All(page.Entries, e => Assert.Equal("key_admin", e.ActorKeyId));
        Assert.All(page.Entries, e => Assert.Equal("req-test", e.RequestId));
        Assert.Contains("Renamed", page.Entries[3].After, StringComparison.Ordinal);
        Assert.Equal([1L, 2L, 3L, 4L, 5L], page.Entries.Select(e => e.Sequence));
    }

    [Fact]
    public async Task TenantState_SurvivesDeactivation()
    {
        var (id, grain) = await NewTenantAsync();
        await grain.UpdateAsync(new TenantSettings("Persisted", AllowDirectModelAccess: false), Admin);

        await fixture.Cluster.DeactivateAsync(grain);
        await fixture.Cluster.WaitForDeactivationAsync(grain);

        var tenant = await fixture.Grains.GetGrain<ITenantGrain>(id).GetAsync();
        Assert.Equal("Persisted", tenant?.Settings.DisplayName);
        Assert.False(tenant?.Settings.AllowDirectModelAccess);
    }

    private Task<ApiKeyInfo?> FindAsync(string secret)
    {
        var hash = ApiKeySecret.Hash(secret);
        return fixture.Grains.GetGrain<IApiKeyDirectoryGrain>(ApiKeySecret.ShardOf(hash)).FindAsync(hash);
    }

    private bool DatabaseContains(string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        using var connection = new SqliteConnection($"Data Source={Path.Combine(fixture.DataDirectory, "platform.db")};Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT data FROM grain_state";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (((byte[])reader.GetValue(0)).AsSpan().IndexOf(needle) >= 0)
            {
                return true;
            }
        }

        return false;
    }
}
