using System.Net;
using System.Net.Sockets;

namespace Platform.IntegrationTests.Infrastructure;

public static class TestEnvironment
{
    /// <summary>Well-known bootstrap keys the test hosts start with (32+ characters, as the platform requires).</summary>
    public const string AdminKey = "test-admin-key-0123456789abcdef0123456789";
    public const string DemoKey = "test-demo-client-key-0123456789abcdef01234";

    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The silo built next to the tests (the project reference copies it with its runtimeconfig).</summary>
    public static string SiloDll { get; } = Path.Combine(AppContext.BaseDirectory, "Platform.Silo.dll");

    public static string NewTempDirectory(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    private static readonly object PortLock = new();
    private static readonly HashSet<int> Handed = [];

    /// <summary>A loopback TCP port nobody listens on now, never handed out twice in this run.</summary>
    public static int FreePort()
    {
        lock (PortLock)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (Handed.Add(port))
                {
                    return port;
                }
            }
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Platform.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Platform.sln not found above " + AppContext.BaseDirectory);
    }
}
