using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Silo.Auth;

namespace Platform.Silo.Apis;

/// <summary>
/// The OpenAI-compatible surface, <c>/v1</c>. Every role of a tenant may call it; <c>client</c> keys may call nothing else.
/// The model catalog and chat completions arrive with the gateway issue; until then the list is empty.
/// </summary>
public static class GatewayApi
{
    public static RouteGroupBuilder MapGatewayApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").WithTags("OpenAI-compatible").RequireAuthorization();
        v1.MapGet("/models", ListModels).WithSummary("Models this key may use (OpenAI shape).");
        return v1;
    }

    public static Ok<ModelList> ListModels(HttpContext context)
    {
        _ = context.GetCaller();
        return TypedResults.Ok(new ModelList("list", []));
    }
}

public sealed record ModelList([property: JsonPropertyName("object")] string Kind, IReadOnlyList<ModelEntry> Data);

public sealed record ModelEntry(
    string Id,
    [property: JsonPropertyName("object")] string Kind,
    long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy);
