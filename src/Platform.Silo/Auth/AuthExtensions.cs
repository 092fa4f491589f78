using Microsoft.AspNetCore.Authentication;
using Platform.Tenants;

namespace Platform.Silo.Auth;

public static class AuthExtensions
{
    public const string AdminPolicy = "admin";

    public static IServiceCollection AddPlatformAuth(this IServiceCollection services)
    {
        services.AddSingleton<ApiKeyAuthenticator>();
        services.AddFailedAuthenticationLimit();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, _ => { });
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, p => p.RequireClaim(ApiKeyAuthenticationHandler.RoleClaim, Roles.Admin));
        return services;
    }

    /// <summary>Must run after the silo starts: registered after <c>UseOrleans</c>.</summary>
    public static IServiceCollection AddPlatformBootstrap(this IServiceCollection services)
    {
        services.AddHostedService<BootstrapService>();
        return services;
    }
}
