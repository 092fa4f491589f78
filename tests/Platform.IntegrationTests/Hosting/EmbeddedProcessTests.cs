using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Hosting;

/// <summary>The real silo process on the embedded profile: durability across a restart, bootstrap, graceful stop.</summary>
public sealed class EmbeddedProcessTests
{
    [Fact]
    public async Task StateWrittenBeforeRestart_IsThereAfterIt_AndNoSecondAdminKeyIsCreated()
    {
        var dataDirectory = TestEnvironment.NewTempDirectory("platform-restart");
        var settings = SiloProcess.EmbeddedSettings(dataDirectory);
        settings.Remove("Platform:Bootstrap:AdminKey");
        settings.Remove("Platform:Bootstrap:DemoClientKey");

        string adminKey, demoKey;
        object tenantBefore;
        await using (var first = SiloProcess.Start(settings))
        {
            await first.WaitReadyAsync(TimeSpan.FromSeconds(60));
            adminKey = PrintedKey(first.Output, "Admin API key");
            demoKey = PrintedKey(first.Output, "Demo tenant client API key");

            using var create = await first.Http.SendAsync(SiloProcess.Request(
                HttpMethod.Post, "/api/v1/tenants", adminKey, JsonContent.Create(new { id = "durable", displayName = "Durable Ltd", allowDirectModelAccess = false })));
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
            tenantBefore = await ReadTenantAsync(first, adminKey);

            Assert.Equal(0, await first.TerminateAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("Application is shutting down", first.Output, StringComparison.Ordinal);
        }

        await using var second = SiloProcess.Start(settings);
        await second.WaitReadyAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(tenantBefore, await ReadTenantAsync(second, adminKey));
        Assert.DoesNotContain("Admin API key", second.Output, StringComparison.Ordinal);
        using var keys = await second.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/api/v1/tenants/system/keys", adminKey));
        using var keyList = JsonDocument.Parse(await keys.Content.ReadAsStringAsync());
        Assert.Equal(1, keyList.RootElement.GetArrayLength());
        using var models = await second.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/v1/models", demoKey));
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);

        Assert.Equal(0, await second.TerminateAsync(TimeSpan.FromSeconds(30)));
        Directory.Delete(dataDirectory, recursive: true);
    }

    [Fact]
    public async Task ConfiguredBootstrapKeys_AreAcceptedAsGiven_AndNotPrinted_AndOnlyHttpAndSiloPortsListen_OnLoopback()
    {
        var dataDirectory = TestEnvironment.NewTempDirectory("platform-bootkeys");
        var settings = SiloProcess.EmbeddedSettings(dataDirectory);
        await using var silo = SiloProcess.Start(settings);
        await silo.WaitReadyAsync(TimeSpan.FromSeconds(60));

        // No Orleans client gateway unless configured, and nothing beyond loopback on the embedded profile.
        string[] expected = [$"127.0.0.1:{settings["Platform:Cluster:SiloPort"]}", $"127.0.0.1:{silo.HttpPort}"];
        var listening = silo.ListeningEndpoints().Select(e => e.ToString());
        Assert.Equal(expected.Order(StringComparer.Ordinal), listening.Order(StringComparer.Ordinal));

        using var me = await silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/api/v1/tenants", TestEnvironment.AdminKey));
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.DoesNotContain(TestEnvironment.AdminKey, silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(TestEnvironment.DemoKey, silo.Output, StringComparison.Ordinal);
        using var dashboard = await silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/dashboard/", TestEnvironment.AdminKey));
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);

        await silo.TerminateAsync(TimeSpan.FromSeconds(30));
        Directory.Delete(dataDirectory, recursive: true);
    }

    private static async Task<object> ReadTenantAsync(SiloProcess silo, string adminKey)
    {
        using var response = await silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/api/v1/tenants/durable", adminKey));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var t = json.RootElement;
        return (t.GetProperty("displayName").GetString(), t.GetProperty("allowDirectModelAccess").GetBoolean(), t.GetProperty("createdAt").GetString());
    }

    private static string PrintedKey(string output, string title)
    {
        var lines = output.Split('\n').Select(l => l.Trim()).ToList();
        var index = lines.FindIndex(l => l.Contains(title, StringComparison.Ordinal));
        Assert.True(index >= 0, $"'{title}' was not printed:\n{output}");
        return lines[index + 1];
    }
}
