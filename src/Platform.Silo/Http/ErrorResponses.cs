using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Platform.Silo.Http;

/// <summary>
/// One place that shapes errors: OpenAI error objects on <c>/v1</c> (what OpenAI SDKs parse),
/// RFC 9457 problem details everywhere else.
/// </summary>
public static class ErrorResponses
{
    public static bool IsOpenAiPath(HttpContext context) => context.Request.Path.StartsWithSegments("/v1");

    public static Task WriteAsync(HttpContext context, int status, string message, string code, string? param = null)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }

        context.Response.StatusCode = status;
        if (IsOpenAiPath(context))
        {
            return context.Response.WriteAsJsonAsync(OpenAiError(status, message, code, param), PlatformJson.OpenAi);
        }

        return context.Response.WriteAsJsonAsync(Problem(context, status, message, code, param), PlatformJson.Options, "application/problem+json");
    }

    public static async ValueTask<object?> ResultAsync(HttpContext context, int status, string message, string code, string? param = null)
    {
        await WriteAsync(context, status, message, code, param);
        return Results.Empty;
    }

    public static ProblemDetails Problem(HttpContext context, int status, string detail, string code, string? param)
    {
        var problem = new ProblemDetails
        {
            Status = status,
            Title = TitleFor(status),
            Detail = detail,
            Type = $"https://httpstatuses.io/{status}",
            Instance = context.Request.Path,
        };
        problem.Extensions["code"] = code;
        problem.Extensions["requestId"] = context.TraceIdentifier;
        if (param is not null)
        {
            problem.Extensions["field"] = param;
        }

        return problem;
    }

    public static object OpenAiError(int status, string message, string code, string? param) => new
    {
        error = new
        {
            message,
            type = status switch
            {
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                413 or 400 or 422 => "invalid_request_error",
                429 => "rate_limit_error",
                409 => "invalid_request_error",
                _ => "api_error",
            },
            param,
            code,
        },
    };

    private static string TitleFor(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    };
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
