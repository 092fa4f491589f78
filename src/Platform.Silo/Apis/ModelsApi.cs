using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Gateway;
using Platform.Providers.Catalog;
using Platform.Silo.Auth;
using Platform.Silo.Gateway;
using Platform.Tenants;

namespace Platform.Silo.Apis;

/// <summary>
/// The model catalog: <c>/api/v1/models</c>. Routes from configuration are listed with <c>source: configuration</c>;
/// admins add or override routes through the API (<c>source: api</c>); every silo serves a change within about a second.
/// </summary>
public static class ModelsApi
{
    /// <summary>Prefix of the environment variables API-managed routes may take provider keys from.</summary>
    public const string ApiCredentialPrefix = "PLATFORM_PROVIDER_";

    public static RouteGroupBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var models = app.MapGroup("/api/v1/models").WithTags("Model catalog").RequireAuthorization();
        models.MapGet("/", List).RequireRoles(Role.Owner, Role.Operator, Role.Developer, Role.Viewer)
            .WithSummary("List model routes with their resolved prices (credentials are environment variable names, never values).");
        models.MapGet("/{name}", Get).RequireRoles(Role.Owner, Role.Operator, Role.Developer, Role.Viewer).WithSummary("Read a model route.");
        models.MapPut("/{name}", Put).RequireRoles(Role.Admin).WithSummary("Create or override a model route (admin).");
        models.MapDelete("/{name}", Delete).RequireRoles(Role.Admin).WithSummary("Remove an API-managed model route (admin).");
        return models;
    }

    public static Ok<IReadOnlyList<ModelRouteResponse>> List(ModelCatalogProvider catalogs) =>
        TypedResults.Ok<IReadOnlyList<ModelRouteResponse>>([.. catalogs.Current.Ordered.Select(r => ModelRouteResponse.From(r, catalogs.ApiManaged))]);

    public static Ok<ModelRouteResponse> Get(string name, ModelCatalogProvider catalogs) =>
        TypedResults.Ok(ModelRouteResponse.From(
            catalogs.Current.Find(name) ?? throw PlatformException.NotFound($"Model route '{name}'"),
            catalogs.ApiManaged));

    public static async Task<Ok<ModelRouteResponse>> Put(string name, ModelRoute route, HttpContext context, IGrainFactory grains, ModelCatalogProvider catalogs)
    {
        if (!string.IsNullOrEmpty(route.Name) && route.Name != name)
        {
            throw new PlatformException(ErrorKind.Invalid, $"The body's name '{route.Name}' differs from the path's '{name}'.", "name");
        }

        route.Name = name;
        RequireTextLimits(route);
        if (route.CredentialEnvironmentVariable is { Length: > 0 } variable && !variable.StartsWith(ApiCredentialPrefix, StringComparison.Ordinal))
        {
            // Otherwise an admin API key could point a route at any process secret (say the storage connection string)
            // and an endpoint of its choosing, and receive that secret as a bearer token.
            throw new PlatformException(
                ErrorKind.Invalid,
                $"Routes managed through the API may only read credentials from environment variables named {ApiCredentialPrefix}*.",
                "credentialEnvironmentVariable");
        }

        // The catalog grain validates the change against the whole merged catalog, as its single writer.
        await grains.GetGrain<IModelCatalogGrain>(ModelCatalogGrain.Key).UpsertAsync(route, context.GetActor());
        await catalogs.RefreshAsync(context.RequestAborted);
        return TypedResults.Ok(ModelRouteResponse.From(catalogs.Current.Find(name)!, catalogs.ApiManaged));
    }

    public static async Task<NoContent> Delete(string name, HttpContext context, IGrainFactory grains, ModelCatalogProvider catalogs)
    {
        var grain = grains.GetGrain<IModelCatalogGrain>(ModelCatalogGrain.Key);
        var current = await grain.GetAsync();
        if (current.Routes.All(r => r.Name != name))
        {
            throw catalogs.Configured.Any(r => r.Name == name)
                ? new PlatformException(ErrorKind.Conflict, $"Model route '{name}' is defined in configuration; change it there (or override it with PUT).")
                : PlatformException.NotFound($"Model route '{name}'");
        }

        // Refused by the grain when a remaining route still names this one as a fallback.
        await grain.RemoveAsync(name, context.GetActor());
        await catalogs.RefreshAsync(context.RequestAborted);
        return TypedResults.NoContent();
    }

    /// <summary>Every text field of a route is bounded, so the catalog (one stored record) and its audit entries stay small.</summary>
    private static void RequireTextLimits(ModelRoute route)
    {
        TextLimits.Require(route.Name, TextLimits.Name, "name");
        TextLimits.Require(route.Provider, TextLimits.Token, "provider");
        TextLimits.Require(route.Endpoint, TextLimits.Url, "endpoint");
        TextLimits.Require(route.UpstreamModel, TextLimits.Name, "upstreamModel");
        TextLimits.Require(route.CredentialEnvironmentVariable, TextLimits.Name, "credentialEnvironmentVariable");
        TextLimits.Require(route.Mode, TextLimits.Token, "mode");
        TextLimits.RequireCount(route.Fallbacks, TextLimits.ListItems, "fallbacks");
        for (var i = 0; i < (route.Fallbacks?.Count ?? 0); i++)
        {
            TextLimits.Require(route.Fallbacks![i], TextLimits.Name, $"fallbacks[{i}]");
        }
    }
}

public sealed record ModelRouteResponse(
    string Name,
    string Provider,
    string? Endpoint,
    string UpstreamModel,
    string? CredentialEnvironmentVariable,
    decimal InputPricePerMillion,
    decimal CachedInputPricePerMillion,
    decimal OutputPricePerMillion,
    int? ContextWindow,
    double TimeoutSeconds,
    int MaxRetries,
    IReadOnlyList<string> Fallbacks,
    string Source)
{
    public static ModelRouteResponse From(ResolvedRoute resolved, IReadOnlySet<string> apiManaged)
    {
        var r = resolved.Route;
        return new ModelRouteResponse(
            r.Name,
            r.Provider,
            RedactEndpoint(r.Endpoint),
            r.UpstreamName,
            r.CredentialEnvironmentVariable,
            resolved.Price.InputPerMillion,
            resolved.Price.CachedInputPerMillion,
            resolved.Price.OutputPerMillion,
            resolved.Price.ContextWindow,
            r.TimeoutSeconds,
            r.MaxRetries,
            r.Fallbacks,
            apiManaged.Contains(r.Name) ? "api" : "configuration");
    }

    /// <summary>Scheme, host, port and path only: user info and query strings can carry credentials.</summary>
    private static string? RedactEndpoint(string? endpoint) =>
        endpoint is not null && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
            ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped)
            : endpoint;
}
