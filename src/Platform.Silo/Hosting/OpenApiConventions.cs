using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;

namespace Platform.Silo.Hosting;

/// <summary>
/// What the OpenAPI document promises beyond the handlers' own types: the bearer key every operation
/// needs, and the error responses (problem details on <c>/api</c>, OpenAI error objects on <c>/v1</c>)
/// that every operation can answer, so generated clients know both.
/// </summary>
public static class OpenApiConventions
{
    public const string BearerScheme = "bearer";

    private static readonly int[] EveryOperation = [400, 401, 403, 404, 429, 500, 503];
    private static readonly int[] WithBody = [409, 413, 415];

    public static IServiceCollection AddPlatformOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(o => o.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<Http.IdempotentEndpoint>().Any())
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = Platform.Tenants.Idempotency.Header,
                    In = ParameterLocation.Header,
                    Required = false,
                    Description = "1-200 visible ASCII characters; a retry with the same key and request returns the first answer for 24 hours.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 200 },
                });
            }

            return Task.CompletedTask;
        }).AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A platform API key (sk-plt-...), as 'Authorization: Bearer <key>'. The 'api-key' header is accepted too.",
            };
            document.Security ??= [];
            document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] });
            return Task.CompletedTask;
        }));

    /// <summary>Declares the problem-details error responses on every endpoint of a management group.</summary>
    public static TBuilder ProducesPlatformProblems<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesErrors(typeof(ProblemDetails), "application/problem+json");

    /// <summary>Declares the OpenAI-shaped error responses on every endpoint of the <c>/v1</c> group.</summary>
    public static TBuilder ProducesOpenAiErrors<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesErrors(typeof(OpenAiErrorResponse), "application/json");

    private static TBuilder ProducesErrors<TBuilder>(this TBuilder builder, Type body, string contentType)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            var methods = endpoint.Metadata.OfType<HttpMethodMetadata>().SelectMany(m => m.HttpMethods);
            var hasBody = methods.Any(m => m is "POST" or "PUT" or "PATCH");
            foreach (var status in hasBody ? EveryOperation.Concat(WithBody) : EveryOperation)
            {
                endpoint.Metadata.Add(new ProducesResponseTypeMetadata(status, body, [contentType]));
            }
        });
        return builder;
    }
}

/// <summary>The OpenAI error envelope, as <c>/v1</c> answers every error.</summary>
public sealed record OpenAiErrorResponse(OpenAiErrorBody Error);

/// <summary>
/// <c>message</c> for people, <c>type</c> (<c>invalid_request_error</c>, <c>authentication_error</c>, ...),
/// <c>param</c> naming the offending field, and a machine-readable <c>code</c>.
/// </summary>
public sealed record OpenAiErrorBody(string Message, string Type, string? Param, string Code);
