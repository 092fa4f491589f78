using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Silo.Hosting;

namespace Platform.Benchmarks;

/// <summary>An embedded-profile silo in the benchmark's own process (SQLite storage in <c>dataDirectory</c>, memory streams).</summary>
public static class EmbeddedSilo
{
    public static async Task<IHost> StartAsync(string dataDirectory, int siloPort, int gatewayPort)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort);
            silo.Services.AddPlatformGrainServices();
            silo.AddPlatformSqliteStorage(dataDirectory);
            silo.AddPlatformMemoryStreams();
            silo.AddReminders();
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }
}
