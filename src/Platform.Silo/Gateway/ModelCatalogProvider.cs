using System.Collections.Concurrent;
using System.Text.Json;
using Platform.Gateway;
using Platform.Providers.Catalog;

namespace Platform.Silo.Gateway;

/// <summary>
/// This silo's current model catalog: the configured routes merged with the API-managed ones (API wins by
/// name). The hot path reads <see cref="Current"/> (one volatile read); a background loop polls the catalog
/// grain's version every second and rebuilds on change, reusing the chat client of every unchanged route.
/// </summary>
public sealed partial class ModelCatalogProvider : BackgroundService
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly IReadOnlyList<ModelRoute> _configured;
    private readonly PriceTable _prices;
    private readonly IGrainFactory _grains;
    private readonly ILogger<ModelCatalogProvider> _logger;
    private readonly ConcurrentDictionary<string, RouteClients> _clients = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile CatalogView _current;

    public ModelCatalogProvider(IReadOnlyList<ModelRoute> configured, PriceTable prices, IGrainFactory grains, ILogger<ModelCatalogProvider> logger)
    {
        _configured = configured;
        _prices = prices;
        _grains = grains;
        _logger = logger;
        _current = Build(new ModelCatalogSnapshot(-1, []));
    }

    public ModelCatalog Current => _current.Catalog;

    /// <summary>Names of routes that come from the API (the rest come from configuration).</summary>
    public IReadOnlySet<string> ApiManaged => _current.ApiManaged;

    public IReadOnlyList<ModelRoute> Configured => _configured;

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            var grain = _grains.GetGrain<IModelCatalogGrain>(ModelCatalogGrain.Key);
            var version = await grain.GetVersionAsync();
            if (version != _current.Version)
            {
                _current = Build(await grain.GetAsync());
                LogRebuilt(_logger, _current.Version, _current.Catalog.Ordered.Count);
            }
        }
        finally
        {
            _refresh.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogRefreshFailed(_logger, ex.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override void Dispose()
    {
        _refresh.Dispose();
        base.Dispose();
    }

    private CatalogView Build(ModelCatalogSnapshot snapshot)
    {
        var merged = ModelRouteRules.Merge(_configured, snapshot.Routes);
        var catalog = new ModelCatalog(merged, _prices, route => _clients.GetOrAdd(JsonSerializer.Serialize(route), _ => ModelCatalog.CreateClients(route)));
        return new CatalogView(snapshot.Version, catalog, snapshot.Routes.Select(r => r.Name).ToHashSet(StringComparer.Ordinal));
    }

    private sealed record CatalogView(long Version, ModelCatalog Catalog, IReadOnlySet<string> ApiManaged);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model catalog version {Version}: {Count} routes.")]
    private static partial void LogRebuilt(ILogger logger, long version, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model catalog refresh failed ({Reason}); serving the last catalog.")]
    private static partial void LogRefreshFailed(ILogger logger, string reason);
}
