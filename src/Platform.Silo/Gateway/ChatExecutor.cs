using System.ClientModel;
using Microsoft.Extensions.AI;
using Platform.Gateway;
using Platform.Providers.Catalog;
using Platform.Providers.OpenAi;
using Platform.Providers.Simulated;
using Platform.Providers.Tokens;
using Platform.Silo.Observability;

namespace Platform.Silo.Gateway;

/// <summary>Which route served a request, after how many attempts, and whether it was a fallback.</summary>
public sealed record ServedBy(ResolvedRoute Route, int Attempts, bool Fallback);

/// <summary>
/// Calls a route with its timeout and jittered-backoff retries on 429, 5xx, timeouts and garbage, then the
/// routes of its fallback list in order. A stream counts as failed only until its first update: after that
/// the client has bytes and the stream can only end with an error event.
/// </summary>
public sealed partial class ChatExecutor(ModelCatalogProvider catalogs, ILogger<ChatExecutor> logger, TimeProvider time)
{
    public Task<(ChatResponse Response, ServedBy ServedBy)> CompleteAsync(ResolvedRoute primary, GatewayRequest request, CancellationToken cancellationToken) =>
        ExecuteAsync(primary, new TokenCounter.PromptSize(request.Messages), (route, token) => route.Chat!.GetResponseAsync(request.Messages, request.Options, token), cancellationToken);

    public Task<(GeneratedEmbeddings<Embedding<float>> Response, ServedBy ServedBy)> EmbedAsync(
        ResolvedRoute primary, IReadOnlyList<string> inputs, EmbeddingGenerationOptions options, CancellationToken cancellationToken) =>
        ExecuteAsync(primary, prompt: null, (route, token) => route.Embeddings!.GenerateAsync(inputs, options, token), cancellationToken);

    /// <summary>One call with the route's timeout and retries, then each fallback route in turn.</summary>
    private async Task<(T Response, ServedBy ServedBy)> ExecuteAsync<T>(
        ResolvedRoute primary, TokenCounter.PromptSize? prompt, Func<ResolvedRoute, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var attempts = 0;
        Exception? last = null;
        foreach (var (route, fallback) in Chain(primary, prompt))
        {
            for (var retry = 0; retry <= route.Route.MaxRetries; retry++)
            {
                attempts++;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(route.Timeout);
                using var span = GatewayTelemetry.StartAttempt(route, prompt is null ? GenAiAttributes.Embeddings : GenAiAttributes.Chat, attempts, fallback);
                try
                {
                    var response = await call(route, timeout.Token).ConfigureAwait(false);
                    Succeeded(span, response);
                    return (response, new ServedBy(route, attempts, fallback));
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    GatewayTelemetry.AttemptFailed(span, ex, Describe(ex, timeout));
                    last = AttemptFailed(primary, route, attempts, ex, timeout);
                }

                if (!RetryDelay(route, retry, last, out var delay))
                {
                    break;
                }

                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }

        throw WithAttempts(Failure(primary, last), attempts);
    }

    public async Task<OpenStream> OpenStreamAsync(ResolvedRoute primary, GatewayRequest request, CancellationToken cancellationToken)
    {
        var attempts = 0;
        Exception? last = null;
        foreach (var (route, fallback) in Chain(primary, new TokenCounter.PromptSize(request.Messages)))
        {
            for (var retry = 0; retry <= route.Route.MaxRetries; retry++)
            {
                attempts++;
                var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(route.Timeout);
                var span = GatewayTelemetry.StartAttempt(route, GenAiAttributes.Chat, attempts, fallback);
                var updates = route.Chat!.GetStreamingResponseAsync(request.Messages, request.Options, timeout.Token).GetAsyncEnumerator(timeout.Token);
                var opened = false;
                try
                {
                    if (await updates.MoveNextAsync().ConfigureAwait(false))
                    {
                        GatewayTelemetry.AttemptSucceeded(span, updates.Current.ResponseId, updates.Current.ModelId, null, null);
                        var open = new OpenStream(updates, new ServedBy(route, attempts, fallback), timeout, time, span);
                        opened = true;
                        return open;
                    }

                    last = new InvalidDataException("The provider ended the stream without any update.");
                    GatewayTelemetry.AttemptFailed(span, last, "empty stream");
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    GatewayTelemetry.AttemptFailed(span, ex, Describe(ex, timeout));
                    last = AttemptFailed(primary, route, attempts, ex, timeout);
                }
                finally
                {
                    if (!opened)
                    {
                        span?.Dispose();
                        await updates.DisposeAsync().ConfigureAwait(false);
                        timeout.Dispose();
                    }
                }

                if (!RetryDelay(route, retry, last, out var delay))
                {
                    break;
                }

                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }

        throw WithAttempts(Failure(primary, last), attempts);
    }

    /// <summary>What a successful attempt answered, on its span.</summary>
    private static void Succeeded<T>(System.Diagnostics.Activity? span, T response)
    {
        if (span is not null && response is ChatResponse chat)
        {
            GatewayTelemetry.AttemptSucceeded(span, chat.ResponseId, chat.ModelId, chat.Usage, chat.FinishReason);
        }
        else if (span is not null && response is GeneratedEmbeddings<Embedding<float>> embeddings)
        {
            GatewayTelemetry.AttemptSucceeded(span, null, embeddings.FirstOrDefault()?.ModelId, embeddings.Usage, null);
        }
    }

    /// <summary>The OpenAI-shaped error for a failure after the stream started (timeouts included).</summary>
    public static PlatformException MidStreamFailure(Exception ex, bool timedOut) => timedOut
        ? new PlatformException(ErrorKind.GatewayTimeout, "The model provider stopped sending in the middle of the stream.", null, "upstream_timeout")
        : new PlatformException(ErrorKind.BadGateway, "The model provider failed in the middle of the stream: " + Describe(ex) + ".", null, "upstream_error");

    /// <summary>
    /// The primary route, then its fallbacks, leaving out every route whose context window the prompt exceeds
    /// (so a long prompt goes straight to a fallback with a larger window); if none fits, a 400 before any call.
    /// </summary>
    private IEnumerable<(ResolvedRoute Route, bool Fallback)> Chain(ResolvedRoute primary, TokenCounter.PromptSize? prompt)
    {
        var fitted = false;
        int? largest = null;
        foreach (var (route, fallback) in Candidates(primary))
        {
            if (prompt is not null && !prompt.Fits(route.Price.ContextWindow))
            {
                largest = Math.Max(largest ?? 0, route.Price.ContextWindow!.Value);
                continue;
            }

            fitted = true;
            yield return (route, fallback);
        }

        if (!fitted && prompt is not null && largest is { } window)
        {
            throw new PlatformException(
                ErrorKind.Invalid,
                $"The messages are longer than {window} tokens, the largest context window of model route '{primary.Name}' and its fallbacks. Shorten the messages.",
                "messages",
                "context_length_exceeded");
        }
    }

    /// <summary>The routes that may serve a request for <paramref name="primary"/>: itself, then its fallbacks of the same mode.</summary>
    public IEnumerable<ResolvedRoute> Routes(ResolvedRoute primary) => Candidates(primary).Select(c => c.Route);

    private IEnumerable<(ResolvedRoute Route, bool Fallback)> Candidates(ResolvedRoute primary)
    {
        yield return (primary, false);
        foreach (var name in primary.Route.Fallbacks)
        {
            if (catalogs.Current.Find(name) is { } route && route.Route.Mode == primary.Route.Mode)
            {
                yield return (route, true);
            }
        }
    }

    /// <summary>
    /// Logs a failed attempt and returns it as the latest failure, or throws the caller's answer when no other
    /// attempt can help: upstream 4xx other than 408/429 is the caller's problem. Everything else (429, 5xx,
    /// network errors, timeouts, bodies that cannot be parsed) is retried, and a context-length refusal moves
    /// on to the next route (see <see cref="RetryDelay"/>).
    /// </summary>
    private Exception AttemptFailed(ResolvedRoute primary, ResolvedRoute route, int attempts, Exception ex, CancellationTokenSource timeout)
    {
        var retriable = UpstreamStatus(ex) is not (>= 400 and < 500 and not 408 and not 429)
            && (ex is not OperationCanceledException || timeout.IsCancellationRequested);
        if (!retriable && !IsContextLength(ex))
        {
            throw Failure(primary, ex);
        }

        LogAttemptFailed(logger, route.Name, attempts, Describe(ex, timeout), ex.GetType().Name);
        return ex;
    }

    /// <summary>The HTTP status a provider failure stands for: a non-success response, or an error object inside a stream.</summary>
    private static int? UpstreamStatus(Exception? ex) => ex switch
    {
        ClientResultException e => e.Status,
        ProviderHttpException e => e.Status,
        ProviderStreamException e => e.Status,
        _ => null,
    };

    private static PlatformException WithAttempts(PlatformException failure, int attempts) =>
        attempts == 0 ? failure : new PlatformException(failure.Kind, failure.Message, failure.Field, failure.Code)
        {
            RetryAfterSeconds = failure.RetryAfterSeconds,
            Attempts = attempts,
        };

    private static PlatformException Failure(ResolvedRoute primary, Exception? last) => UpstreamStatus(last) switch
    {
        _ when last is not null && IsContextLength(last) =>
            new PlatformException(ErrorKind.Invalid, $"The messages are longer than the context window of model route '{primary.Name}' and of its fallbacks.", "messages", "context_length_exceeded"),
        429 => new PlatformException(ErrorKind.RateLimited, $"Model route '{primary.Name}' (and its fallbacks) are rate-limited by the provider; retry later.", null, ErrorCodes.UpstreamRateLimited)
        {
            RetryAfterSeconds = RetryAfter(last) is { } s ? (int)Math.Ceiling(Math.Min(s, 3600)) : null,
        },

        // 401/403/404 upstream are our credential or deployment, not the caller's request.
        (401 or 403 or 404) and var status =>
            new PlatformException(ErrorKind.BadGateway, $"Model route '{primary.Name}' is misconfigured: the provider answered {status}.", null, "upstream_error"),
        >= 400 and < 500 and not 408 and var status =>
            new PlatformException(ErrorKind.Invalid, $"The model provider rejected the request ({status}).", null, "upstream_rejected"),
        _ when last is OperationCanceledException =>
            new PlatformException(ErrorKind.GatewayTimeout, $"Model route '{primary.Name}' (and its fallbacks) did not answer in time.", null, "upstream_timeout"),
        _ => new PlatformException(ErrorKind.BadGateway, $"Model route '{primary.Name}' (and its fallbacks) failed: {Describe(last)}.", null, "upstream_error"),
    };

    private static string Describe(Exception? ex, CancellationTokenSource? timeout = null) => ex switch
    {
        null => "no attempt was made",
        OperationCanceledException when timeout?.IsCancellationRequested ?? true => "timeout",
        _ when IsContextLength(ex) => "context length exceeded",
        ClientResultException { Status: 0 } => "no answer (connection failed)",
        ClientResultException c => $"status {c.Status}",
        ProviderHttpException h => $"status {h.Status}",
        ProviderStreamException p => $"error {p.Status} in the stream",
        HttpRequestException => "no answer (connection failed)",
        IOException => "the connection broke",
        InvalidDataException => "an answer that could not be read",
        SimulatedProviderException => "simulated failure",

        // Words for the caller, never a type name; the log of the attempt has the type.
        _ => "an unexpected failure",
    };

    /// <summary>The longest <c>Retry-After</c> the gateway waits out on a route before trying the next one instead.</summary>
    public static readonly TimeSpan MaxHonouredRetryAfter = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long to wait before retrying a route: the jittered backoff, or longer if the provider said so
    /// (<c>retry-after-ms</c>, <c>retry-after</c>). False when the route is done: out of retries, refused for
    /// context length, or asked to wait more than <see cref="MaxHonouredRetryAfter"/> or the route's timeout.
    /// </summary>
    private static bool RetryDelay(ResolvedRoute route, int retry, Exception? failure, out TimeSpan delay)
    {
        delay = Backoff(route.Route, retry);
        if (retry >= route.Route.MaxRetries || (failure is not null && IsContextLength(failure)))
        {
            // Out of retries, or one that cannot help: a fallback with a larger window can.
            return false;
        }

        if (UpstreamStatus(failure) is not (429 or 503) || RetryAfter(failure) is not { } seconds)
        {
            return true;
        }

        // Compared as a number first: "1e12" or "Infinity" must not overflow a TimeSpan.
        if (seconds > MaxHonouredRetryAfter.TotalSeconds || seconds > route.Timeout.TotalSeconds)
        {
            return false;
        }

        var wait = TimeSpan.FromSeconds(seconds);
        delay = wait > delay ? wait : delay;
        return true;
    }

    /// <summary>The provider's <c>retry-after-ms</c> or <c>retry-after</c> (seconds or an HTTP date), in seconds; null if absent or unreadable.</summary>
    private static double? RetryAfter(Exception? failure)
    {
        string? ms = null, after = null;
        switch (failure)
        {
            case ProviderHttpException h:
                (ms, after) = (h.RetryAfterMs, h.RetryAfter);
                break;
            case ClientResultException c when c.GetRawResponse() is { } response:
                response.Headers.TryGetValue("retry-after-ms", out ms);
                response.Headers.TryGetValue("retry-after", out after);
                break;
            default:
                return null;
        }

        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        if (double.TryParse(ms, System.Globalization.NumberStyles.Float, invariant, out var millis) && double.IsFinite(millis))
        {
            return Math.Max(0, millis / 1000);
        }

        if (after is null)
        {
            return null;
        }

        if (double.TryParse(after, System.Globalization.NumberStyles.Float, invariant, out var seconds))
        {
            return double.IsFinite(seconds) ? Math.Max(0, seconds) : double.MaxValue;
        }

        return DateTimeOffset.TryParse(after, invariant, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
            ? Math.Max(0, (at - DateTimeOffset.UtcNow).TotalSeconds)
            : null;
    }

    /// <summary>An upstream refusal because the prompt is longer than its context window: the next route may hold it.</summary>
    private static bool IsContextLength(Exception ex)
    {
        if (ex is ProviderHttpException { Status: 400 } h)
        {
            return h.Body.Contains("context_length_exceeded", StringComparison.Ordinal);
        }

        if (ex is not ClientResultException { Status: 400 } e)
        {
            return false;
        }

        if (e.Message.Contains("context_length_exceeded", StringComparison.Ordinal))
        {
            return true;
        }

        try
        {
            return e.GetRawResponse()?.Content.ToString().Contains("context_length_exceeded", StringComparison.Ordinal) == true;
        }
        catch (InvalidOperationException)
        {
            // An unbuffered (streaming) response whose body was not read.
            return false;
        }
    }

    private static TimeSpan Backoff(ModelRoute route, int retry) =>
        TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * route.RetryBaseDelayMilliseconds * (1 << Math.Min(retry, 10)));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model route {Route} attempt {Attempt} failed: {Reason} ({Failure})")]
    private static partial void LogAttemptFailed(ILogger logger, string route, int attempt, string reason, string failure);
}
