using System.Diagnostics;
using Microsoft.Extensions.AI;
using Platform.Deployments;
using Platform.Hosting;
using Platform.Silo.Auth;

namespace Platform.Silo.Gateway;

/// <summary>
/// What one chat request came to, for the record stage. <paramref name="Status"/> and <paramref name="ErrorCode"/> are set
/// when a stream that had started ended with an error event; <paramref name="Completion"/> is the response or the streamed
/// text, read only when the tenant's request log keeps content.
/// </summary>
public readonly record struct ChatOutcome(
    bool Success,
    string Route,
    UsageCost Usage,
    double? TimeToFirstTokenMs,
    double? Quality,
    int Attempts = 0,
    bool Fallback = false,
    int Status = 0,
    string? ErrorCode = null,
    object? Completion = null);

/// <summary>
/// The record stage: one inference event per request a deployment served, published on the deployment's stream off
/// the response path (fire and forget: the client has its answer; a lost event only thins the monitor's sample).
/// Only the release's own failures are recorded against it (<see cref="ReleaseFaults"/>).
/// Every request, deployment or not, also gets one request log row, handed to this silo's writer
/// (<see cref="Log"/>: one object and a channel write; nothing when the request log is off).
/// </summary>
public sealed partial class InferenceRecorder(IClusterClient client, ILogger<InferenceRecorder> logger, RequestLog.RequestLogWriter? requestLog = null)
{
    /// <summary>Hands the request's row to the silo's request log writer.</summary>
    public void Log(HttpContext context, Caller caller, in RequestFacts facts)
    {
        if (requestLog is not null)
        {
            requestLog.TryEnqueue(facts.ToRecord(context.TraceIdentifier, caller));
        }
    }

    public void Record(Caller caller, DeploymentRoute deployment, long started, ChatOutcome outcome) =>
        Publish(Event(caller, deployment, outcome.Route, started, outcome.Success ? 200 : 502, outcome.TimeToFirstTokenMs, outcome.Quality, outcome.Usage));

    /// <summary>Records a failed request against its arm when the failure is the release's, not the caller's.</summary>
    public void RecordFailure(Caller caller, DeploymentRoute deployment, long started, Exception exception)
    {
        var (status, _, code, _) = Http.PlatformExceptionHandler.Classify(exception);
        if (ReleaseFaults.IsReleaseFault(status, code, deployment.Release.Prompt is not null))
        {
            Publish(Event(caller, deployment, deployment.Release.ModelRoute, started, status, null, null, default));
        }
    }

    /// <summary>The simulated model's quality score of a response, when it reports one.</summary>
    public static double? Quality(AdditionalPropertiesDictionary? properties) =>
        properties is not null && properties.TryGetValue(Providers.Simulated.SimulatedChatClient.QualityProperty, out var q) && q is double d ? d : null;

    private static InferenceEvent Event(
        Caller caller, DeploymentRoute deployment, string route, long started, int status, double? ttft, double? quality, UsageCost usage) => new(
        caller.TenantId,
        deployment.Deployment.Name,
        deployment.Arm,
        deployment.Deployment.Revision,
        route,
        DateTimeOffset.UtcNow,
        Stopwatch.GetElapsedTime(started).TotalMilliseconds,
        ttft,
        status < 400,
        status,
        usage.InputTokens,
        usage.OutputTokens,
        usage.CostUsd,
        quality,
        deployment.Deployment.Epoch);

    private void Publish(InferenceEvent inference) => _ = PublishAsync(inference);

    private async Task PublishAsync(InferenceEvent inference)
    {
        try
        {
            var stream = client.GetStreamProvider(PlatformStorage.Streams)
                .GetStream<InferenceEvent>(StreamId.Create(DeploymentStreams.Inference, $"{inference.TenantId}/{inference.Deployment}"));
            await stream.OnNextAsync(inference);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogPublishFailed(logger, inference.Deployment, ex.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inference event of deployment {Deployment} not published: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string deployment, string reason);
}
