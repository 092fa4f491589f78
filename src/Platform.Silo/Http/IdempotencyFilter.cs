using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Platform.Silo.Auth;
using Platform.Tenants;

namespace Platform.Silo.Http;

/// <summary>
/// <c>Idempotency-Key</c> on management requests that change something: the first request with a key runs and its
/// answer is kept for a day (per tenant); a retry with the same key and the same request gets that answer again
/// (header <c>Idempotent-Replayed: true</c>) instead of making the change twice; the same key with a different
/// request is a 422, and a retry while the first is still running a 409 with <c>Retry-After</c>. A request that
/// fails releases its key, so the retry runs again.
/// </summary>
public static partial class IdempotencyFilter
{
    /// <summary>
    /// Accepts <c>Idempotency-Key</c> on this endpoint. With <paramref name="keepBody"/> false (answers that carry a
    /// secret shown once), a replay says what was created (its location) instead of repeating the body.
    /// </summary>
    public static TBuilder WithIdempotency<TBuilder>(this TBuilder builder, bool keepBody = true)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter((context, next) => InvokeAsync(context, next, keepBody));
        builder.WithMetadata(
            IdempotentEndpoint.Instance,
            new ProducesResponseTypeMetadata(StatusCodes.Status422UnprocessableEntity, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), ["application/problem+json"]));
        return builder;
    }

    private static async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, bool keepBody)
    {
        var http = context.HttpContext;
        if (!http.Request.Headers.TryGetValue(Idempotency.Header, out var values))
        {
            return await next(context);
        }

        var key = values.ToString();
        if (values.Count != 1 || !Idempotency.IsValidKey(key))
        {
            return await ErrorResponses.ResultAsync(
                http, StatusCodes.Status400BadRequest,
                $"{Idempotency.Header} must be one value of 1-{TextLimits.IdempotencyKey} visible ASCII characters.", "invalid_idempotency_key", Idempotency.Header);
        }

        var caller = http.GetCaller();
        var grain = http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IIdempotencyGrain>($"{caller.TenantId}/{Hash(key)}");
        var fingerprint = Fingerprint(context);
        var begin = await grain.BeginAsync(fingerprint);
        switch (begin.Outcome)
        {
            case IdempotencyOutcome.Mismatch:
                return await ErrorResponses.ResultAsync(
                    http, StatusCodes.Status422UnprocessableEntity,
                    $"This {Idempotency.Header} was already used for a different request; use a new key for a new request.", "idempotency_key_reused", Idempotency.Header);
            case IdempotencyOutcome.InProgress:
                http.Response.Headers.RetryAfter = "1";
                return await ErrorResponses.ResultAsync(
                    http, StatusCodes.Status409Conflict,
                    $"A request with this {Idempotency.Header} is still running; retry shortly.", "idempotency_in_progress", Idempotency.Header);
            case IdempotencyOutcome.Replay:
                return await ReplayAsync(http, begin.Response!);
        }

        object? result;
        try
        {
            result = await next(context);
        }
        catch
        {
            await AbandonQuietlyAsync(http, grain, fingerprint);
            throw;
        }

        return result is IResult inner ? new RecordingResult(inner, grain, fingerprint, keepBody) : result;
    }

    private static async ValueTask<object?> ReplayAsync(HttpContext http, IdempotentResponse response)
    {
        http.Response.Headers[Idempotency.ReplayedHeader] = "true";
        if (response.Body is null)
        {
            var what = response.Location is null ? "" : $" (it created {response.Location})";
            return await ErrorResponses.ResultAsync(
                http, StatusCodes.Status409Conflict,
                $"The request with this {Idempotency.Header} already succeeded{what}; its answer was shown once and is not repeated.",
                "idempotency_key_used", Idempotency.Header);
        }

        if (response.Location is not null)
        {
            http.Response.Headers.Location = response.Location;
        }

        return Results.Text(response.Body, response.ContentType ?? "application/json", Encoding.UTF8, response.Status);
    }

    /// <summary>Method, path, query and the bound request values.</summary>
    private static string Fingerprint(EndpointFilterInvocationContext context)
    {
        var http = context.HttpContext;
        var text = new StringBuilder()
            .Append(http.Request.Method).Append(' ').Append(http.Request.Path).Append(http.Request.QueryString).Append('\n');
        foreach (var argument in context.Arguments)
        {
            // Route values and request bodies (the Apis' request records); never the services a handler takes.
            if (argument is null || (argument is not (string or int or long or bool) && argument.GetType().Namespace != typeof(Apis.TenantsApi).Namespace))
            {
                continue;
            }

            text.Append(JsonSerializer.Serialize(argument, argument.GetType(), PlatformJson.Options)).Append('\n');
        }

        return Hash(text.ToString());
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..32];

    private static Task AbandonQuietlyAsync(HttpContext http, IIdempotencyGrain grain, string fingerprint) =>
        RetryQuietlyAsync(http, () => grain.AbandonAsync(fingerprint));

    /// <summary>
    /// Updates the key's record, retrying while the cluster replaces a lost silo (its grain reactivates elsewhere within
    /// seconds); if it still fails, the claim lapses after its lease and a retry before then is told to wait.
    /// </summary>
    private static async Task RetryQuietlyAsync(HttpContext http, Func<Task> update)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await update();
                return;
            }
            catch (Exception ex) when (ex is not PlatformException)
            {
                if (attempt == RecordRetryDelays.Length)
                {
                    LogRecordFailed(Logger(http), http.TraceIdentifier, ex);
                    return;
                }

                await Task.Delay(RecordRetryDelays[attempt]);
            }
        }
    }

    private static readonly TimeSpan[] RecordRetryDelays = [TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)];

    private static ILogger Logger(HttpContext http) => http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(IdempotencyFilter));

    /// <summary>Runs the handler's result into a buffer, keeps a success for replay (or releases the key), then sends it.</summary>
    private sealed class RecordingResult(IResult inner, IIdempotencyGrain grain, string fingerprint, bool keepBody) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            var original = http.Response.Body;
            using var buffer = new MemoryStream();
            http.Response.Body = buffer;
            try
            {
                await inner.ExecuteAsync(http);
            }
            finally
            {
                http.Response.Body = original;
            }

            var status = http.Response.StatusCode;
            if (status is >= 200 and < 300)
            {
                var body = keepBody && buffer.Length <= Idempotency.MaxStoredBody ? Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length) : null;
                var location = http.Response.Headers.Location.ToString();
                // The change is made and its answer goes out whatever happens here; at worst a retry runs again after the lease.
                var response = new IdempotentResponse(status, http.Response.ContentType, location.Length > 0 ? location : null, body);
                await RetryQuietlyAsync(http, () => grain.CompleteAsync(fingerprint, response));
            }
            else
            {
                await AbandonQuietlyAsync(http, grain, fingerprint);
            }

            buffer.Position = 0;
            await buffer.CopyToAsync(original, http.RequestAborted);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: the Idempotency-Key record could not be updated")]
    private static partial void LogRecordFailed(ILogger logger, string requestId, Exception exception);
}

/// <summary>Marks an endpoint that accepts <c>Idempotency-Key</c> (read by the OpenAPI document).</summary>
public sealed class IdempotentEndpoint
{
    public static readonly IdempotentEndpoint Instance = new();

    private IdempotentEndpoint()
    {
    }
}
