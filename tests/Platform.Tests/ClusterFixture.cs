using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;
using Platform.Hosting;
using Platform.Silo.Hosting;
using Platform.Silo.Storage;

namespace Platform.Tests;

/// <summary>
/// A two-silo in-process cluster on the embedded profile's SQLite storage, shared by a test collection. Grain state
/// goes through <see cref="FaultyGrainStorage"/>, which passes everything through until a test arms a fault.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "platform-tests-" + Guid.NewGuid().ToString("N"));

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddPlatformGrainServices();
            silo.AddPlatformSqliteStorage(DataDirectory);
            silo.Services.AddKeyedSingleton<IGrainStorage>(PlatformStorage.Default, (services, name) =>
                new FaultyGrainStorage(ActivatorUtilities.CreateInstance<SqliteGrainStorage>(services, (string)name!)));
            silo.AddPlatformMemoryStreams();
            silo.AddReminders();
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
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
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
