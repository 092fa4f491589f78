using Platform.Providers.Catalog;
using Platform.Silo.Hosting;

namespace Platform.Silo.Gateway;

public static class GatewayServices
{
    /// <summary>Must be called after <c>UseOrleans</c>: the catalog provider talks to a grain once started.</summary>
    public static IServiceCollection AddPlatformGateway(this IServiceCollection services, PlatformOptions options)
    {
        services.AddSingleton(PriceTable.LoadDefault());
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ModelCatalogProvider>(sp, (IReadOnlyList<Platform.Gateway.ModelRoute>)options.Models));
        services.AddHostedService(sp => sp.GetRequiredService<ModelCatalogProvider>());
        services.AddSingleton<ChatExecutor>();
        services.AddSingleton<DeploymentRouter>();
        services.AddSingleton<InferenceRecorder>();
        services.AddSingleton<BudgetAgent>();
        services.AddHostedService<BudgetLeaseReturn>();
        services.AddSingleton<BudgetIndexCache>();
        services.AddSingleton<BudgetAdmission>();
        services.AddSingleton<ChatPipeline>();
        if (options.RequestLog.Enabled)
        {
            // After UseOrleans and before the web server (registered at Build): stopped after the last request, so it drains them all.
            services.AddSingleton<RequestLog.RequestLogWriter>();
            services.AddHostedService(sp => sp.GetRequiredService<RequestLog.RequestLogWriter>());
        }

        services.AddHostedService<RequestLog.RequestLogRetentionSchedule>();
        return services;
    }
}
