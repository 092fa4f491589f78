using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace Platform.Silo.Http;

/// <summary>
/// One place that shapes errors. Every error, whether an endpoint raised it, authentication refused the
/// caller, routing found nothing or an exception escaped, is handed to the framework's
/// <see cref="IProblemDetailsService"/>; <see cref="PlatformErrorWriter"/> then writes an OpenAI error object on
/// <c>/v1</c> (what OpenAI SDKs parse) and RFC 9457 problem details everywhere else.
/// </summary>
public static class ErrorResponses
{
    /// <summary>Problem-details extension holding the machine-readable error code.</summary>
    public const string CodeExtension = "code";

    /// <summary>Problem-details extension naming the offending field (OpenAI's <c>param</c>).</summary>
    public const string FieldExtension = "field";

    public const string RequestIdExtension = "requestId";

    public static bool IsOpenAiPath(HttpContext context) => context.Request.Path.StartsWithSegments("/v1");

    public static async Task WriteAsync(HttpContext context, int status, string message, string code, string? param = null)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Detail = message };
        problem.Extensions[CodeExtension] = code;
        if (param is not null)
        {
            problem.Extensions[FieldExtension] = param;
        }

        var service = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await service.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }

    public static async ValueTask<object?> ResultAsync(HttpContext context, int status, string message, string code, string? param = null)
    {
        await WriteAsync(context, status, message, code, param);
        return Results.Empty;
    }

    /// <summary>Fills what a problem lacks: title, type, instance, request id, and for bare status codes a detail and code.</summary>
    public static void Complete(HttpContext context, ProblemDetails problem)
    {
        var status = problem.Status ??= context.Response.StatusCode;
        problem.Title ??= TitleFor(status);
        problem.Type ??= $"https://httpstatuses.io/{status}";
        problem.Instance ??= context.Request.Path;
        problem.Extensions[RequestIdExtension] = context.TraceIdentifier;
        if (!problem.Extensions.ContainsKey(CodeExtension))
        {
            var (detail, code) = DescribeStatus(context, status);
            problem.Detail ??= detail;
            problem.Extensions[CodeExtension] = code;
        }

        problem.Detail ??= problem.Title;
    }

    public static Hosting.OpenAiErrorResponse OpenAiError(int status, string message, string code, string? param) => new(new(
        message,
        status switch
        {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            400 or 405 or 409 or 413 or 415 or 422 => "invalid_request_error",
            429 => "rate_limit_error",
            _ => "api_error",
        },
        param,
        code));

    public static string TitleFor(int status) => status switch
    {
        413 => "Payload Too Large",
        _ => ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error",
    };

    /// <summary>What a status means when nothing more specific was said (routing's 404 and 405, a bare 401).</summary>
    private static (string Detail, string Code) DescribeStatus(HttpContext context, int status) => status switch
    {
        400 => ("The request is not valid.", "invalid_request"),
        401 => ("No valid API key was sent. Send it as 'Authorization: Bearer <key>' or in the 'api-key' header.", "invalid_api_key"),
        403 => ("This API key may not call this endpoint.", "insufficient_role"),
        404 => ($"There is no endpoint at {context.Request.Path}.", "not_found"),
        405 => (
            context.Response.Headers.Allow is { Count: > 0 } allow
                ? $"{context.Request.Method} is not allowed on {context.Request.Path}; use {string.Join(", ", allow.ToArray())}."
                : $"{context.Request.Method} is not allowed on {context.Request.Path}.",
            "method_not_allowed"),
        406 => ("The response cannot be produced in the media type the Accept header asks for.", "not_acceptable"),
        413 => ("The request body is too large.", "request_too_large"),
        415 => ("The request body must be JSON, sent with 'Content-Type: application/json'.", "unsupported_media_type"),
        429 => ("Too many requests; retry after the time given in Retry-After.", "rate_limit_exceeded"),
        503 => ("The platform is not ready to serve this request; retry it.", "unavailable"),
        >= 500 => ("The platform failed to handle this request. Quote the request id when reporting it.", "internal_error"),
        _ => (TitleFor(status), "error"),
    };
}

/// <summary>
/// The only <see cref="IProblemDetailsWriter"/>: registered ahead of the framework's, it answers every error,
/// whatever the caller's <c>Accept</c> header, so no error goes out empty or as text.
/// </summary>
internal sealed class PlatformErrorWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        ErrorResponses.Complete(http, problem);

        // The exception handler clears the response's headers: every error still says which request it answers.
        http.Response.Headers[RequestPipeline.RequestIdHeader] = http.TraceIdentifier;
        if (ErrorResponses.IsOpenAiPath(http))
        {
            var code = problem.Extensions[ErrorResponses.CodeExtension] as string ?? "error";
            var field = problem.Extensions.TryGetValue(ErrorResponses.FieldExtension, out var f) ? f as string : null;
            var error = ErrorResponses.OpenAiError(problem.Status!.Value, problem.Detail!, code, field);
            return new ValueTask(http.Response.WriteAsJsonAsync(error, PlatformJson.OpenAi));
        }

        return new ValueTask(http.Response.WriteAsJsonAsync(problem, PlatformJson.Options, "application/problem+json"));
    }
}

public static class PlatformJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>OpenAI's wire format keeps nulls (<c>"param": null</c>) and snake_case names.</summary>
    public static readonly JsonSerializerOptions OpenAi = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}
