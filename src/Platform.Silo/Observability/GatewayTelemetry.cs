using System.Diagnostics;
using Microsoft.Extensions.AI;
using Platform.Providers.Catalog;

namespace Platform.Silo.Observability;

/// <summary>
/// The gateway's spans: one per request (<see cref="RequestTelemetry"/>, named <c>chat {model}</c> or <c>embeddings {model}</c>)
/// and a CLIENT child per provider attempt, so retries and fallbacks each show as a span of their own. With no listener
/// (tracing not configured) <see cref="ActivitySource.HasListeners"/> is false and nothing is allocated.
/// </summary>
/// <remarks>
/// Attempt spans are emitted here rather than by Microsoft.Extensions.AI's <c>UseOpenTelemetry</c> wrapper: its streaming path
/// keeps every update and merges them at the end even when nothing listens, which cost measurable time per stream
/// (deploy/bench/RESULTS.md, "Telemetry"), and its metrics would count each attempt rather than each request.
/// </remarks>
public static class GatewayTelemetry
{
    public const string SourceName = "Platform.Gateway";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the CLIENT span of one provider attempt, or returns null when nothing samples it.</summary>
    public static Activity? StartAttempt(ResolvedRoute route, string operation, int attempt, bool fallback)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity($"{operation} {route.Route.UpstreamName}", ActivityKind.Client);
        if (activity is null || !activity.IsAllDataRequested)
        {
            return activity;
        }

        activity.SetTag(GenAiAttributes.OperationName, operation);
        activity.SetTag(GenAiAttributes.ProviderName, GenAiAttributes.Provider(route.Route.Provider));
        activity.SetTag(GenAiAttributes.RequestModel, route.Route.UpstreamName);
        activity.SetTag(GenAiAttributes.Route, route.Name);
        activity.SetTag(GenAiAttributes.Attempt, attempt);
        activity.SetTag(GenAiAttributes.Fallback, fallback);
        if (route.Server is { } server)
        {
            activity.SetTag(GenAiAttributes.ServerAddress, server.Host);
            activity.SetTag(GenAiAttributes.ServerPort, server.Port);
        }

        return activity;
    }

    /// <summary>Marks an attempt failed: <c>error.type</c> (the provider's status, or the exception type) and Error status.</summary>
    public static void AttemptFailed(Activity? activity, Exception exception, string reason)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(GenAiAttributes.ErrorType, exception switch
        {
            System.ClientModel.ClientResultException { Status: > 0 } e => e.Status.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Platform.Providers.OpenAi.ProviderHttpException e => e.Status.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Platform.Providers.OpenAi.ProviderStreamException e => e.Status.ToString(System.Globalization.CultureInfo.InvariantCulture),
            OperationCanceledException => "timeout",
            _ => exception.GetType().FullName,
        });
        activity.SetStatus(ActivityStatusCode.Error, reason);
    }

    /// <summary>Tags a successful attempt with what the provider answered, and the request span with the response id and model.</summary>
    public static void AttemptSucceeded(Activity? activity, string? responseId, string? responseModel, UsageDetails? usage, ChatFinishReason? finish)
    {
        if (activity is null || !activity.IsAllDataRequested)
        {
            return;
        }

        activity.SetTag(GenAiAttributes.ResponseId, responseId);
        activity.SetTag(GenAiAttributes.ResponseModel, responseModel);
        if (finish is { } reason)
        {
            activity.SetTag(GenAiAttributes.FinishReasons, new[] { reason.Value });
        }

        if (usage is not null)
        {
            activity.SetTag(GenAiAttributes.InputTokens, usage.InputTokenCount);
            activity.SetTag(GenAiAttributes.OutputTokens, usage.OutputTokenCount);
        }

        if (activity.Parent is { } request && request.Source == Source)
        {
            request.SetTag(GenAiAttributes.ResponseId, responseId);
            request.SetTag(GenAiAttributes.ResponseModel, responseModel);
        }
    }
}
