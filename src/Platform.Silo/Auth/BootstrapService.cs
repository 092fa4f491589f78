using Microsoft.Extensions.Options;
using Platform.Silo.Hosting;
using Platform.Tenants;

namespace Platform.Silo.Auth;

/// <summary>
/// On first start of an empty store, creates the admin key (and, on the embedded profile, the demo
/// tenant with a client key). Generated secrets are printed once to standard output, never logged.
/// Runs after the silo has started; the bootstrap grain makes it happen once per store, whatever the silo count.
/// </summary>
internal sealed partial class BootstrapService(
    IGrainFactory grains,
    IOptions<PlatformOptions> options,
    ILogger<BootstrapService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var result = await grains.GetGrain<IBootstrapGrain>(BootstrapGrain.Key).EnsureAsync(new BootstrapRequest(
            o.Bootstrap.AdminKey,
            o.Bootstrap.CreateDemoTenant ?? !o.UsesAzure,
            o.Bootstrap.DemoClientKey));
        await EnsureKeyDirectoryAsync(cancellationToken);
        if (!result.Created)
        {
            LogAlreadyBootstrapped(logger);
            return;
        }

        LogBootstrapped(logger, result.AdminKey?.Key.Id, result.DemoClientKey?.Key.Id);
        if (result.AdminKey is { } admin && o.Bootstrap.AdminKey is null)
        {
            Print("Admin API key (shown once; store it now)", admin.Secret);
        }

        if (result.DemoClientKey is { } demo && o.Bootstrap.DemoClientKey is null)
        {
            Print("Demo tenant client API key (shown once)", demo.Secret);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Upgrade step: keys stored before the key directory existed are registered in it, tenant by tenant,
    /// before this silo serves requests. Runs until one silo has finished it for the store; idempotent, so
    /// silos starting together may both run it.
    /// </summary>
    private async Task EnsureKeyDirectoryAsync(CancellationToken cancellationToken)
    {
        var bootstrap = grains.GetGrain<IBootstrapGrain>(BootstrapGrain.Key);
        if (await bootstrap.IsKeyDirectoryReadyAsync())
        {
            return;
        }

        var tenants = await grains.GetGrain<ITenantDirectoryGrain>(TenantDirectoryGrain.Key).ListAsync();
        var registered = 0;
        await Parallel.ForEachAsync(
            tenants,
            new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
            async (tenant, _) => Interlocked.Add(ref registered, await grains.GetGrain<ITenantGrain>(tenant).EnsureKeysInDirectoryAsync()));
        await bootstrap.MarkKeyDirectoryReadyAsync();
        LogKeyDirectoryReady(logger, tenants.Count, registered);
    }

    private static void Print(string title, string secret)
    {
        Console.Out.WriteLine($"""

            ==== {title} ====
            {secret}

            """);
        Console.Out.Flush();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Key directory ready: {Tenants} tenants checked, {Keys} keys from before the directory registered.")]
    private static partial void LogKeyDirectoryReady(ILogger logger, int tenants, int keys);

    [LoggerMessage(Level = LogLevel.Information, Message = "Store already bootstrapped; no key created.")]
    private static partial void LogAlreadyBootstrapped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Bootstrapped the store: admin key {AdminKeyId}, demo client key {DemoKeyId}.")]
    private static partial void LogBootstrapped(ILogger logger, string? adminKeyId, string? demoKeyId);
}
