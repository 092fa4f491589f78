using System.Diagnostics;
using System.Net.Sockets;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>
/// Azurite from <c>deploy/azurite</c> (installed by <c>test.sh</c>) on free loopback ports, in memory,
/// with <c>--skipApiVersionCheck</c> so the current Azure SDKs are accepted.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private Process? _process;

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var bin = Path.Combine(TestEnvironment.RepoRoot, "deploy", "azurite", "node_modules", ".bin", "azurite");
        if (!File.Exists(bin))
        {
            throw new InvalidOperationException($"Azurite is not installed at {bin}. Run ./test.sh (it runs 'npm ci --prefix deploy/azurite').");
        }

        int blob = TestEnvironment.FreePort(), queue = TestEnvironment.FreePort(), table = TestEnvironment.FreePort();
        var info = new ProcessStartInfo(bin)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--silent", "--inMemoryPersistence", "--skipApiVersionCheck", "--loose",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", blob.ToString(), "--queuePort", queue.ToString(), "--tablePort", table.ToString(),
        })
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        foreach (var port in new[] { blob, queue, table })
        {
            await WaitForPortAsync(port, TimeSpan.FromSeconds(30));
        }

        ConnectionString =
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
            $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;" +
            $"QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;" +
            $"TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;";
    }

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Settings of one azure-profile silo of cluster <paramref name="clusterId"/>.</summary>
    public Dictionary<string, string> SiloSettings(string clusterId, string grainStorage = "table") => new()
    {
        ["Platform:Profile"] = "azure",
        ["Platform:Azure:ConnectionString"] = ConnectionString,
        ["Platform:Azure:GrainStorage"] = grainStorage,
        ["Platform:ClusterId"] = clusterId,
        ["Platform:ServiceId"] = clusterId,
        ["Platform:Cluster:AdvertisedAddress"] = "127.0.0.1",
        ["Platform:Cluster:SiloPort"] = TestEnvironment.FreePort().ToString(),
        ["Platform:Bootstrap:AdminKey"] = TestEnvironment.AdminKey,
    };

    private static async Task WaitForPortAsync(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "azurite";
}
