using Platform.Silo.Http;
using Platform.Tenants;

namespace Platform.Silo.Auth;

/// <summary>
/// Role and tenant checks for management endpoints, in the order that gives no existence oracle:
/// a key of another tenant gets 404 for anything under <c>{tenant}</c>, then a wrong role gets 403.
/// Admin keys pass both.
/// </summary>
public static class AuthorizationExtensions
{
    public const string TenantRouteValue = "tenant";

    public static TBuilder RequireRoles<TBuilder>(this TBuilder builder, params Role[] roles)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new RolesMetadata(roles));
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var caller = http.Features.Get<Caller>();
            if (caller is null)
            {
                return await ErrorResponses.ResultAsync(http, StatusCodes.Status401Unauthorized, "No API key was sent.", "invalid_api_key");
            }

            if (caller.Role != Role.Admin)
            {
                if (http.Request.RouteValues.TryGetValue(TenantRouteValue, out var tenant)
                    && !string.Equals(tenant as string, caller.TenantId, StringComparison.Ordinal))
                {
                    return await ErrorResponses.ResultAsync(http, StatusCodes.Status404NotFound, $"Tenant '{tenant}' was not found.", "not_found");
                }

                if (!roles.Contains(caller.Role))
                {
                    return await ErrorResponses.ResultAsync(
                        http,
                        StatusCodes.Status403Forbidden,
                        $"This endpoint needs one of the roles: {string.Join(", ", roles.Append(Role.Admin).Distinct().Select(r => r.ToName()))}; this key is '{caller.Role.ToName()}'.",
                        "insufficient_role");
                }
            }

            return await next(context);
        });
        return builder;
    }

    public static Caller GetCaller(this HttpContext context) =>
        context.Features.Get<Caller>() ?? throw new InvalidOperationException("The endpoint is not authenticated.");

    public static Actor GetActor(this HttpContext context)
    {
        var caller = context.GetCaller();
        return new Actor(caller.KeyId, caller.TenantId, caller.Role, context.TraceIdentifier);
    }
}

/// <summary>Which roles an endpoint accepts (readable by tests and the OpenAPI document).</summary>
public sealed record RolesMetadata(IReadOnlyList<Role> Roles);
