using Microsoft.Extensions.Options;
using Orleans.Dashboard;
using Platform.Silo.Apis;
using Platform.Silo.Auth;
using Platform.Silo.Evaluations;
using Platform.Silo.Gateway;
using Platform.Silo.Http;
using Platform.Silo.Observability;
using Platform.Silo.Health;
using Scalar.AspNetCore;

namespace Platform.Silo.Hosting;

/// <summary>The host's composition root: <c>AddPlatform</c> registers everything, <c>MapPlatform</c> maps every endpoint.</summary>
public static class PlatformHostingExtensions
{
    /// <summary>The URL the platform serves on when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8080";

    public static WebApplicationBuilder AddPlatform(this WebApplicationBuilder builder)
    {
        var options = ReadValidatedOptions(builder.Configuration);

        if (string.IsNullOrEmpty(builder.Configuration["urls"])
            && string.IsNullOrEmpty(builder.Configuration["http_ports"])
            && !builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.Services.AddOptions<PlatformOptions>().Bind(builder.Configuration.GetSection(PlatformOptions.SectionName)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<PlatformOptions>, PlatformOptionsValidator>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds));

        builder.UseOrleans(silo =>
        {
            silo.AddPlatformCluster(options);
            silo.AddDashboard();
            DashboardAssets.ReplaceEagerProvider(silo.Services);
            silo.AddPlatformTracing(builder.Configuration);
        });

        builder.AddPlatformTelemetry();

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddPlatformGateway(options);
        builder.Services.AddPlatformEvaluations();
        builder.Services.AddSingleton<Platform.Silo.Prompts.PromptService>();
        builder.Services.AddSingleton<Platform.Silo.Evaluations.DatasetService>();
        builder.Services.AddPlatformBootstrap();
        builder.Services.AddPlatformAuth();
        builder.Services.AddPlatformRequestPipeline();
        builder.Services.AddPlatformOpenApi();
        builder.Services.AddPlatformHealthChecks();
        return builder;
    }

    public static WebApplication MapPlatform(this WebApplication app)
    {
        app.UsePlatformRequestPipeline();
        app.UseAuthentication();
        app.UseFailedAuthenticationLimit();
        app.UseAuthorization();
        app.MapPlatformHealthChecks();
        app.MapPlatformTelemetry();
        app.MapOpenApi();
        app.MapScalarApiReference("/api-reference", o => o.AddPreferredSecuritySchemes(OpenApiConventions.BearerScheme));
        foreach (var asset in app.MapDashboardAssets(ApiKeyAuthenticationHandler.DashboardPath))
        {
            asset.RequireAuthorization(AuthExtensions.AdminPolicy).ExcludeFromDescription();
        }

        // The dashboard is a web page for operators, not part of the API a generated client should call.
        app.MapOrleansDashboard(routePrefix: ApiKeyAuthenticationHandler.DashboardPath).RequireAuthorization(AuthExtensions.AdminPolicy).ExcludeFromDescription();
        app.MapTenantsApi().ProducesPlatformProblems();
        app.MapModelsApi().ProducesPlatformProblems();
        app.MapPromptsApi().ProducesPlatformProblems();
        app.MapDatasetsApi().ProducesPlatformProblems();
        app.MapDeploymentsApi().ProducesPlatformProblems();
        app.MapBudgetsApi().ProducesPlatformProblems();
        app.MapRequestsApi().ProducesPlatformProblems();
        app.MapEvaluationsApi().ProducesPlatformProblems();
        app.MapGatewayApi().ProducesOpenAiErrors();
        return app;
    }

    /// <summary>
    /// Binds and validates the <c>Platform</c> section before the host is built: the profile decides
    /// which Orleans providers get registered, so a bad value must stop us here, with a readable message.
    /// </summary>
    public static PlatformOptions ReadValidatedOptions(IConfiguration configuration)
    {
        var options = new PlatformOptions();
        try
        {
            configuration.GetSection(PlatformOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key and the value it could not convert.
            throw new PlatformConfigurationException($"Invalid setting: {ex.Message}");
        }

        var result = new PlatformOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new PlatformConfigurationException(string.Join(Environment.NewLine, result.Failures));
        }

        return options;
    }
}
