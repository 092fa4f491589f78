using System.Text.Json;
using Microsoft.AspNetCore.Http.Metadata;

namespace Platform.Silo.Http;

/// <summary>
/// Request ids, body size limits and the exception-to-error mapping shared by every endpoint,
/// so no endpoint carries its own try/catch.
/// </summary>
public static class RequestPipeline
{
    public const string RequestIdHeader = "x-request-id";

    /// <summary>Largest management (<c>/api</c>) request body.</summary>
    public const long MaxApiBodyBytes = 1024 * 1024;

    /// <summary>Largest inference (<c>/v1</c>) request body.</summary>
    public const long MaxInferenceBodyBytes = 4 * 1024 * 1024;

    public static IServiceCollection AddPlatformRequestPipeline(this IServiceCollection services)
    {
        services.AddExceptionHandler<PlatformExceptionHandler>();

        // Ahead of the framework's writer, so every error (routing, authentication, exceptions) takes our shapes.
        services.AddSingleton<IProblemDetailsWriter, PlatformErrorWriter>();
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o =>
        {
            // A null where a request type has no null, or a missing required field, is the caller's 400, not our 500.
            o.SerializerOptions.RespectNullableAnnotations = true;
            o.SerializerOptions.RespectRequiredConstructorParameters = true;
            o.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
            o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        });
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        return services;
    }

    public static IApplicationBuilder UsePlatformRequestPipeline(this IApplicationBuilder app)
    {
        app.Use(static (context, next) =>
        {
            var incoming = context.Request.Headers[RequestIdHeader].ToString();
            context.TraceIdentifier = IsAcceptableRequestId(incoming) ? incoming : "req_" + Guid.NewGuid().ToString("N");
            context.Response.Headers[RequestIdHeader] = context.TraceIdentifier;

            var limit = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize
                ?? (context.Request.Path.StartsWithSegments("/v1") ? MaxInferenceBodyBytes : MaxApiBodyBytes);
            if (context.Request.ContentLength > limit)
            {
                return ErrorResponses.WriteAsync(
                    context,
                    StatusCodes.Status413PayloadTooLarge,
                    $"The request body is {context.Request.ContentLength} bytes; the limit is {limit} bytes.",
                    "request_too_large");
            }

            if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = limit;
            }

            return next(context);
        });
        app.UseExceptionHandler();

        // Routing's 404 and 405 (and any other bodiless error) get a body in the path's error shape.
        app.UseStatusCodePages();
        return app;
    }

    /// <summary>Lets one endpoint take a larger body than <see cref="MaxApiBodyBytes"/> (dataset imports).</summary>
    public static TBuilder WithMaxBodySize<TBuilder>(this TBuilder builder, long bytes)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new BodySizeLimit(bytes));

    private sealed record BodySizeLimit(long? MaxRequestBodySize) : IRequestSizeLimitMetadata;

    private static bool IsAcceptableRequestId(string value) =>
        value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}

/// <summary>Maps what endpoints throw to 4xx answers; anything else is a 500 with no internals.</summary>
internal sealed partial class PlatformExceptionHandler(ILogger<PlatformExceptionHandler> logger) : Microsoft.AspNetCore.Diagnostics.IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var (status, message, code, field) = Classify(exception);
        if (status >= 500)
        {
            LogUnhandled(logger, context.TraceIdentifier, exception);
        }

        if (exception is PlatformException { RetryAfterSeconds: { } seconds })
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await ErrorResponses.WriteAsync(context, status, message, code, field);
        return true;
    }

    internal static (int Status, string Message, string Code, string? Field) Classify(Exception exception) => exception switch
    {
        PlatformException { Kind: ErrorKind.NotFound } e => (404, e.Message, e.Code ?? "not_found", e.Field),
        PlatformException { Kind: ErrorKind.Conflict } e => (409, e.Message, e.Code ?? "conflict", e.Field),
        PlatformException { Kind: ErrorKind.Forbidden } e => (403, e.Message, e.Code ?? "forbidden", e.Field),
        PlatformException { Kind: ErrorKind.BadGateway } e => (502, e.Message, e.Code ?? "upstream_error", e.Field),
        PlatformException { Kind: ErrorKind.GatewayTimeout } e => (504, e.Message, e.Code ?? "upstream_timeout", e.Field),
        PlatformException { Kind: ErrorKind.RateLimited } e => (429, e.Message, e.Code ?? "rate_limit_exceeded", e.Field),
        PlatformException { Kind: ErrorKind.Unavailable } e => (503, e.Message, e.Code ?? "unavailable", e.Field),
        PlatformException e => (400, e.Message, e.Code ?? "invalid_request", e.Field),
        BadHttpRequestException { StatusCode: 413 } => (413, "The request body is too large.", "request_too_large", null),
        BadHttpRequestException { InnerException: JsonException json } => (400, JsonErrors.Describe(json), "invalid_json", JsonErrors.Field(json)),
        BadHttpRequestException { InnerException: InvalidOperationException { InnerException: System.Text.DecoderFallbackException } } =>
            (400, "The request body is not valid UTF-8.", "invalid_encoding", null),
        BadHttpRequestException e => Binding(e),
        Orleans.Storage.InconsistentStateException =>
            (409, "Someone else changed this object at the same time; read it again and retry.", "conflict", null),
        OrleansException or TimeoutException =>
            (503, "The cluster is recovering from a silo change; retry the request.", "cluster_unavailable", null),
        _ => (500, "The platform failed to handle this request. Quote the request id when reporting it.", "internal_error", null),
    };

    private static (int, string, string, string?) Binding(BadHttpRequestException exception)
    {
        var (message, field) = JsonErrors.DescribeBinding(exception);
        var status = exception.StatusCode is >= 400 and < 500 ? exception.StatusCode : 400;
        return (status, message, status == 415 ? "unsupported_media_type" : "invalid_request", field);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Request {RequestId} failed")]
    private static partial void LogUnhandled(ILogger logger, string requestId, Exception exception);
}
