using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Platform.Providers.Catalog;
using Platform.Silo.Auth;
using Platform.Silo.Gateway;

namespace Platform.Silo.Observability;

/// <summary>
/// One gateway request's span and measurements. <see cref="RequestTelemetryFilter"/> creates it around the endpoint (only
/// when telemetry is configured), the handler annotates it as the pipeline learns things (model, plan, route, usage),
/// and the filter ends it: span status and the per-request metrics, once, from the settled usage.
/// </summary>
public sealed class RequestTelemetry
{
    private const int MaxAttributeChars = 256;

    private readonly TelemetryOptions _options;
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly string _operation;

    /// <summary>Content goes on spans only when the operator opted in and the tenant's policy stores content too.</summary>
    private readonly bool _captureContent;
    private string? _route;
    private string? _provider;
    private string? _servedModel;
    private UsageCost? _usage;
    private bool _failed;

    internal RequestTelemetry(Activity? activity, string operation, TelemetryOptions options, bool tenantStoresContent)
    {
        Activity = activity;
        _operation = operation;
        _options = options;
        _captureContent = options.CaptureContent && tenantStoresContent;
    }

    /// <summary>The request span; null when tracing is off or the request was not sampled.</summary>
    public Activity? Activity { get; }

    /// <summary>The request's telemetry, or null when telemetry is off.</summary>
    public static RequestTelemetry? Of(HttpContext context) => context.Features.Get<RequestTelemetry>();

    private bool Recording => Activity is { IsAllDataRequested: true };

    /// <summary>The chat request as read: model, parameters, stream, and the prompt when content capture is on.</summary>
    public void Requested(GatewayRequest request)
    {
        if (!Recording)
        {
            return;
        }

        var activity = Activity!;
        var model = Cap(request.Model);
        activity.DisplayName = $"{_operation} {model}";
        activity.SetTag(GenAiAttributes.RequestModel, model);
        activity.SetTag(GenAiAttributes.Stream, request.Stream);
        var options = request.Options;
        activity.SetTag(GenAiAttributes.MaxTokens, options.MaxOutputTokens);
        activity.SetTag(GenAiAttributes.Temperature, options.Temperature);
        activity.SetTag(GenAiAttributes.TopP, options.TopP);
        activity.SetTag(GenAiAttributes.FrequencyPenalty, options.FrequencyPenalty);
        activity.SetTag(GenAiAttributes.PresencePenalty, options.PresencePenalty);
        activity.SetTag(GenAiAttributes.Seed, options.Seed);
        if (options.StopSequences is { Count: > 0 } stop)
        {
            activity.SetTag(GenAiAttributes.StopSequences, stop.Select(Cap).ToArray());
        }

        if (_captureContent)
        {
            activity.SetTag(GenAiAttributes.InputMessages, Messages(request.Messages, _options.ContentMaxChars));
        }
    }

    /// <summary>The embeddings request as read.</summary>
    public void Requested(string model, bool base64)
    {
        if (!Recording)
        {
            return;
        }

        model = Cap(model);
        Activity!.DisplayName = $"{_operation} {model}";
        Activity.SetTag(GenAiAttributes.RequestModel, model);
        Activity.SetTag(GenAiAttributes.EncodingFormats, new[] { base64 ? "base64" : "float" });
    }

    /// <summary>The deployment arm and prompt version serving the request, when any.</summary>
    public void Planned(ChatPlan plan)
    {
        if (!Recording)
        {
            return;
        }

        if (plan.Deployment is { } deployment)
        {
            Activity!.SetTag(GenAiAttributes.Deployment, deployment.Deployment.Name);
            Activity.SetTag(GenAiAttributes.Arm, deployment.Arm);
        }

        Activity!.SetTag(GenAiAttributes.PromptVersion, plan.PromptVersion);
    }

    /// <summary>The catalog route chosen to serve the request (the metrics' model label).</summary>
    public void Routed(ResolvedRoute route)
    {
        _route = route.Name;
        _provider = GenAiAttributes.Provider(route.Route.Provider);
        Activity?.SetTag(GenAiAttributes.Route, route.Name);
        Activity?.SetTag(GenAiAttributes.ProviderName, _provider);
    }

    /// <summary>The route that answered, after how many attempts, and whether it was a fallback.</summary>
    public void Served(ServedBy servedBy)
    {
        _provider = GenAiAttributes.Provider(servedBy.Route.Route.Provider);
        _servedModel = servedBy.Route.Route.UpstreamName;
        if (servedBy.Fallback && GatewayMetrics.Fallbacks.Enabled)
        {
            GatewayMetrics.Fallbacks.Add(1, new TagList { { GenAiAttributes.Route, _route ?? servedBy.Route.Name }, { GenAiAttributes.ServedRoute, servedBy.Route.Name } });
        }

        if (!Recording)
        {
            return;
        }

        Activity!.SetTag(GenAiAttributes.ProviderName, _provider);
        Activity.SetTag(GenAiAttributes.ServedRoute, servedBy.Route.Name);
        Activity.SetTag(GenAiAttributes.Attempts, servedBy.Attempts);
        Activity.SetTag(GenAiAttributes.Fallback, servedBy.Fallback);
        if (Activity.GetTagItem(GenAiAttributes.ResponseModel) is null)
        {
            Activity.SetTag(GenAiAttributes.ResponseModel, _servedModel);
        }
    }

    /// <summary>The settled usage and cost; <paramref name="success"/> false for a stream that ended with an error event.</summary>
    public void Completed(UsageCost usage, bool success)
    {
        _usage = usage;
        _failed |= !success;
        if (!Recording)
        {
            return;
        }

        Activity!.SetTag(GenAiAttributes.InputTokens, usage.InputTokens);
        Activity.SetTag(GenAiAttributes.OutputTokens, usage.OutputTokens);
        if (usage.CachedInputTokens > 0)
        {
            Activity.SetTag(GenAiAttributes.CachedInputTokens, usage.CachedInputTokens);
        }

        Activity.SetTag(GenAiAttributes.CostUsd, (double)usage.CostUsd);
    }

    /// <summary>The completion text, put on the span only when content capture is on.</summary>
    public void Output(string? text)
    {
        if (Recording && _captureContent && text is not null)
        {
            Activity!.SetTag(GenAiAttributes.OutputMessages, Messages([new ChatMessage(ChatRole.Assistant, text)], _options.ContentMaxChars));
        }
    }

    /// <inheritdoc cref="Output(string?)"/>
    public void Output(StringBuilder text)
    {
        if (Recording && _captureContent)
        {
            Output(text.ToString());
        }
    }

    /// <summary>A budget or rate limit refused the request before any provider call.</summary>
    public void Refused()
    {
        if (GatewayMetrics.BudgetRefusals.Enabled)
        {
            GatewayMetrics.BudgetRefusals.Add(1, new TagList { { GenAiAttributes.OperationName, _operation }, { GenAiAttributes.Route, _route ?? "none" } });
        }
    }

    /// <summary>Ends the request: span status and error type, then the metrics (the span itself is stopped by the filter).</summary>
    internal void End(HttpContext context, Exception? exception)
    {
        var tenant = context.Features.Get<Caller>()?.TenantId ?? "none";
        var cancelled = exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested;
        string? errorType = null;
        int status;
        if (exception is not null)
        {
            string code;
            (status, _, code, _) = Http.PlatformExceptionHandler.Classify(exception);
            errorType = cancelled ? "cancelled" : code;
        }
        else
        {
            status = context.Response.StatusCode;
            if (_failed)
            {
                // A stream that had already answered 200 and ended with an error event.
                status = 502;
                errorType = "stream_error";
            }
            else if (status >= 400)
            {
                errorType = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        var statusClass = GatewayMetrics.StatusClass(status, cancelled);
        if (Activity is { } activity)
        {
            if (activity.Kind == ActivityKind.Server)
            {
                activity.SetTag(GenAiAttributes.HttpStatusCode, status);
            }

            activity.SetTag(GenAiAttributes.Tenant, tenant);
            activity.SetTag(GenAiAttributes.StatusClass, statusClass);
            if (errorType is not null)
            {
                activity.SetTag(GenAiAttributes.ErrorType, errorType);
                activity.SetStatus(ActivityStatusCode.Error, errorType);
            }
        }

        var usage = _usage.GetValueOrDefault();
        GatewayMetrics.Record(new RequestMeasurement(
            tenant, _operation, _route ?? "none", _provider, _servedModel, statusClass, errorType, Stopwatch.GetElapsedTime(_started).TotalSeconds,
            _usage.HasValue, usage.InputTokens, usage.OutputTokens, (double)usage.CostUsd));
    }

    private static string Cap(string value) => value.Length <= MaxAttributeChars ? value : value[..MaxAttributeChars];

    /// <summary>
    /// Messages in the semantic conventions' shape (<c>[{"role":…,"parts":[{"type":"text","content":…}]}]</c>), their text
    /// cut so that all of it together holds at most <paramref name="maxChars"/> characters.
    /// </summary>
    internal static string Messages(IEnumerable<ChatMessage> messages, int maxChars)
    {
        var left = maxChars;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var message in messages)
            {
                json.WriteStartObject();
                json.WriteString("role", message.Role.Value);
                json.WriteStartArray("parts");
                var text = message.Text ?? "";
                var kept = text.Length <= left ? text : text[..left];
                left -= kept.Length;
                json.WriteStartObject();
                json.WriteString("type", "text");
                json.WriteString("content", kept);
                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}

/// <summary>
/// Wraps a gateway endpoint in its <see cref="RequestTelemetry"/>: starts the request span (a child of ASP.NET Core's, which
/// carries the caller's <c>traceparent</c>), lets the handler annotate it, and ends it whichever way the handler left.
/// Added only when telemetry is configured, so a platform without it pays nothing per request.
/// </summary>
internal sealed class RequestTelemetryFilter(string operation, string route, TelemetryOptions options) : IEndpointFilter
{
    /// <summary>The caller's trace context from <c>traceparent</c>/<c>tracestate</c>; default (a new trace) when absent or malformed.</summary>
    internal static ActivityContext CallerContext(IHeaderDictionary headers) =>
        headers.TryGetValue("traceparent", out var parent) && parent.Count == 1
        && ActivityContext.TryParse(parent[0], headers.TryGetValue("tracestate", out var state) ? state.ToString() : null, isRemote: true, out var context)
            ? context
            : default;

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        // A child of ASP.NET Core's server span when its instrumentation is on. Else the service's own entry span, in the
        // caller's trace when the request carries a W3C traceparent: ASP.NET Core may still have started an activity nobody
        // exports, which must not become the parent (a backend would see a span whose parent never arrives).
        Activity? activity;
        if (options.HttpTracing)
        {
            activity = GatewayTelemetry.Source.StartActivity(operation, ActivityKind.Internal);
        }
        else
        {
            Activity.Current = null;
            var request = context.HttpContext.Request;
            activity = GatewayTelemetry.Source.StartActivity(operation, ActivityKind.Server, CallerContext(request.Headers));
            if (activity is { IsAllDataRequested: true })
            {
                // The HTTP server attributes ASP.NET Core's span would have carried (the status is set when the request ends).
                activity.SetTag(GenAiAttributes.HttpMethod, request.Method);
                activity.SetTag(GenAiAttributes.HttpRoute, route);
                activity.SetTag(GenAiAttributes.UrlPath, request.Path.Value);
            }
        }

        activity?.SetTag(GenAiAttributes.OperationName, operation);
        var telemetry = new RequestTelemetry(activity, operation, options, context.HttpContext.Features.Get<Caller>() is { ContentLimitBytes: > 0 });
        context.HttpContext.Features.Set(telemetry);
        try
        {
            var result = await next(context);
            telemetry.End(context.HttpContext, null);
            return result;
        }
        catch (Exception ex)
        {
            telemetry.End(context.HttpContext, ex);
            throw;
        }
        finally
        {
            activity?.Dispose();
        }
    }
}
