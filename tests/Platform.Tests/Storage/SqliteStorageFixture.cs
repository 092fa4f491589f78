using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using Platform.Silo.Storage;

namespace Platform.Tests.Storage;

[GenerateSerializer]
[Alias("Platform.Tests.Storage.Counter")]
public sealed class Counter
{
    [Id(0)]
    public int Value { get; set; }

    [Id(1)]
    public string Note { get; set; } = "";
}

/// <summary>A fresh SQLite file per test class, with the Orleans binary serializer the silo uses.</summary>
public sealed class SqliteStorageFixture : IDisposable
{
    private readonly ServiceProvider _services;

    public SqliteStorageFixture()
    {
        _services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        Database = new SqliteDatabase(Directory);
        Serializer = new OrleansGrainStorageSerializer(_services.GetRequiredService<Serializer>());
    }

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "platform-sqlite-" + Guid.NewGuid().ToString("N"));

    public SqliteDatabase Database { get; }

    public IGrainStorageSerializer Serializer { get; }

    public SqliteGrainStorage NewStorage() => new("test", new SqliteDatabase(Directory), Serializer, NullLogger<SqliteGrainStorage>.Instance);

    public SqliteReminderTable NewReminderTable(string serviceId = "svc") =>
        new(Database, Options.Create(new ClusterOptions { ServiceId = serviceId, ClusterId = "c" }));

    public void Dispose()
    {
        _services.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
