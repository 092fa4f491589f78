using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>The real host (embedded profile, its own data directory and cluster ports) behind an in-memory HTTP server.</summary>
public sealed class PlatformFactory : WebApplicationFactory<Program>
{
    public PlatformFactory() => Settings = SiloProcess.EmbeddedSettings(DataDirectory);

    public string DataDirectory { get; } = TestEnvironment.NewTempDirectory("platform-http");

    /// <summary>Settings the host starts with; add to them before the first client is created.</summary>
    public Dictionary<string, string> Settings { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }
    }

    public HttpClient ClientWithKey(string? key)
    {
        var client = CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    public HttpClient Admin() => ClientWithKey(TestEnvironment.AdminKey);

    /// <summary>Creates a tenant through the API and returns its id.</summary>
    public async Task<string> CreateTenantAsync(string? id = null)
    {
        id ??= "t" + Guid.NewGuid().ToString("N")[..10];
        using var admin = Admin();
        using var response = await admin.PostAsJsonAsync("/api/v1/tenants", new { id, displayName = "Tenant " + id });
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return id;
    }

    /// <summary>Creates a key through the API (as admin) and returns (id, secret).</summary>
    public async Task<(string Id, string Secret)> CreateKeyAsync(string tenant, string role)
    {
        using var admin = Admin();
        using var response = await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/keys", new { name = role + " key", role });
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (json.RootElement.GetProperty("key").GetProperty("id").GetString()!, json.RootElement.GetProperty("secret").GetString()!);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PlatformCollection : ICollectionFixture<PlatformFactory>
{
    public const string Name = "platform";
}
