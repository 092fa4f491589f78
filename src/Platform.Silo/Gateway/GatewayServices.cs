using Platform.Providers.Catalog;
using Platform.Silo.Hosting;

namespace Platform.Silo.Gateway;

public static class GatewayServices
{
    public static IServiceCollection AddPlatformGateway(this IServiceCollection services, PlatformOptions options)
    {
        services.AddSingleton(PriceTable.LoadDefault());
        services.AddSingleton(sp => new ModelCatalog(options.Models, sp.GetRequiredService<PriceTable>()));
        services.AddSingleton<ChatExecutor>();
        return services;
    }
}
