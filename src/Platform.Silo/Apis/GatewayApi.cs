using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Platform.Gateway;
using Platform.Providers.Catalog;
using Platform.Providers.Tokens;
using Platform.Silo.Auth;
using Platform.Silo.Gateway;
using Platform.Silo.Http;
using Platform.Silo.Observability;

namespace Platform.Silo.Apis;

/// <summary>
/// The OpenAI-compatible surface, <c>/v1</c>. Every role of a tenant may call it; <c>client</c> keys may
/// call nothing else. Errors are OpenAI-shaped; nothing is sent upstream for a request that fails validation.
/// </summary>
public static class GatewayApi
{
    public const string RouteHeader = "x-platform-route";
    public const string CostHeader = "x-platform-cost-usd";
    public const string FallbackHeader = "x-platform-fallback";
    public const string AttemptsHeader = "x-platform-attempts";

    public static RouteGroupBuilder MapGatewayApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").WithTags("OpenAI-compatible").RequireAuthorization();
        v1.MapGet("/models", ListModels).WithSummary("Models this key may use (OpenAI shape).").Produces<OpenAiModelList>();
        v1.MapGet("/models/{model}", GetModel).WithSummary("One model this key may use (OpenAI shape).").Produces<OpenAiModel>();
        v1.MapPost("/chat/completions", ChatCompletions).WithRequestTelemetry(app, GenAiAttributes.Chat, "/v1/chat/completions")
            .WithSummary("OpenAI chat completions, streaming (server-sent events of chat.completion.chunk objects) or not.")
            .Accepts<ChatCompletionRequest>("application/json")
            .Produces<OpenAiChatCompletion>(StatusCodes.Status200OK, "application/json", "text/event-stream");
        v1.MapPost("/embeddings", Embeddings).WithRequestTelemetry(app, GenAiAttributes.Embeddings, "/v1/embeddings")
            .WithSummary("OpenAI embeddings, passed through to an embedding route.")
            .Accepts<EmbeddingRequest>("application/json")
            .Produces<OpenAiEmbeddingList>();
        return v1;
    }

    public static IResult GetModel(string model, HttpContext context, ModelCatalogProvider catalogs)
    {
        var caller = context.GetCaller();
        var route = (caller.AllowDirectModelAccess ? catalogs.Current.Find(model) : null) ?? throw ModelAccess.NotFound(model);
        return Results.Json(new OpenAiModel(route.Name, "model", 0, route.Route.Provider), Http.PlatformJson.OpenAi);
    }

    public static IResult ListModels(HttpContext context, ModelCatalogProvider catalogs)
    {
        var caller = context.GetCaller();
        IEnumerable<ResolvedRoute> routes = caller.AllowDirectModelAccess ? catalogs.Current.Ordered : [];
        return Results.Json(
            new { @object = "list", data = routes.Select(r => new { id = r.Name, @object = "model", created = 0, owned_by = r.Route.Provider }) },
            Http.PlatformJson.OpenAi);
    }

    public const string PromptHeader = "x-platform-prompt";

    /// <summary>Largest <c>dimensions</c> (text-embedding-3-large's).</summary>
    public const int MaxEmbeddingDimensions = 3072;

    /// <summary>Most embedding values (inputs times dimensions) one request may ask for.</summary>
    public const long MaxEmbeddingValues = 2048L * 1536;

    /// <summary>
    /// The most text one stream may carry (about a million tokens, several times the longest output any model has):
    /// a stream's text is held to count its tokens, so a provider that never stops must not grow the gateway's memory.
    /// </summary>
    public const int MaxStreamTextChars = 4 * 1024 * 1024;

    public const string DeploymentHeader = "x-platform-deployment";
    public const string ArmHeader = "x-platform-arm";
    public const string UserHeader = "x-platform-user";

    /// <summary>
    /// The chat endpoint: the pipeline's stages in order, the response written as JSON or server-sent events. Every request
    /// that got past authentication leaves one request log row, whatever became of it (<see cref="RequestFacts"/>).
    /// </summary>
    public static async Task ChatCompletions(HttpContext context, ChatPipeline pipeline)
    {
        var facts = new RequestFacts(Platform.RequestLog.RequestOperations.Chat);
        var started = facts.Started;
        var caller = context.GetCaller();
        var aborted = context.RequestAborted;
        var telemetry = RequestTelemetry.Of(context);
        try
        {
            var request = await ReadRequestAsync(context.Request, aborted);
            telemetry?.Requested(request);
            (facts.Model, facts.Stream) = (request.Model, request.Stream);
            var user = request.User ?? HeaderUser(context.Request.Headers[UserHeader].ToString());
            facts.User = user;
            var plan = await pipeline.ResolveAsync(caller, request, user);
            facts.Plan = plan;
            if (plan.Deployment is { } deployment)
            {
                context.Response.Headers[DeploymentHeader] = deployment.Deployment.Name;
                context.Response.Headers[ArmHeader] = deployment.Arm;
            }

            ChatOutcome outcome;
            try
            {
                plan = await pipeline.RenderAsync(caller, plan);
                facts.Plan = plan;
                if (plan.PromptVersion is { } version)
                {
                    context.Response.Headers[PromptHeader] = version;
                }

                var route = pipeline.SelectRoute(caller, plan);
                facts.Route = route.Name;
                telemetry?.Planned(plan);
                telemetry?.Routed(route);
                var (admission, refusal) = await pipeline.AdmitAsync(caller, plan, route, user, aborted);
                if (refusal is not null)
                {
                    // Written here rather than thrown: the exception handler would clear the budget headers.
                    (facts.Status, facts.ErrorCode) = await WriteRefusalAsync(context, refusal);
                    return;
                }

                try
                {
                    BudgetHeaders.Write(context.Response.Headers, admission!.Headroom);
                    var clientModel = plan.ClientModel.Length > 0 ? plan.ClientModel : plan.Request.Model;
                    var id = "chatcmpl-" + context.TraceIdentifier;
                    var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                    outcome = plan.Request.Stream
                        ? await StreamAsync(context, pipeline.Executor, route, plan.Request, clientModel, id, created, started, admission, aborted)
                        : await CompleteAsync(context, pipeline.Executor, route, plan.Request, clientModel, id, created, admission, aborted);
                    facts.Outcome = outcome;
                    telemetry?.Completed(outcome.Usage, outcome.Success);
                }
                finally
                {
                    // Settled where the usage became known; anything else (a failed call, a client gone) releases the reservation.
                    admission!.Release();
                }
            }
            catch (Exception ex) when (plan.Deployment is not null && !aborted.IsCancellationRequested)
            {
                pipeline.Recorder.RecordFailure(caller, plan.Deployment, started, ex);
                throw;
            }

            if (plan.Deployment is not null)
            {
                pipeline.Recorder.Record(caller, plan.Deployment, started, outcome);
            }
        }
        catch (Exception ex)
        {
            facts.Failed(ex, aborted.IsCancellationRequested);
            throw;
        }
        finally
        {
            pipeline.Recorder.Log(context, caller, in facts);
        }
    }

    private static async Task<ChatOutcome> CompleteAsync(
        HttpContext context, ChatExecutor executor, ResolvedRoute route, GatewayRequest request, string clientModel, string id, long created,
        Admission admission, CancellationToken aborted)
    {
        var (response, servedBy) = await executor.CompleteAsync(route, request, aborted);
        var usage = UsageMeter.Settle(servedBy.Route, request, response.Usage, response.Text);
        admission.Settle(usage, servedBy.Route.Name);
        SetRouteHeaders(context.Response, servedBy);
        context.Response.Headers[CostHeader] = CompletionWriter.FormatCost(usage.CostUsd);
        context.Response.ContentType = "application/json";
        CompletionWriter.WriteCompletion(context.Response.BodyWriter, response, clientModel, response.ResponseId ?? id, created, usage);
        RequestTelemetry.Of(context)?.Output(response.Text);
        await context.Response.BodyWriter.FlushAsync(aborted);
        return new ChatOutcome(
            true, servedBy.Route.Name, usage, null, InferenceRecorder.Quality(response.AdditionalProperties), servedBy.Attempts, servedBy.Fallback, Completion: response);
    }

    /// <summary>
    /// The end user named by the header, bounded like the <c>user</c> field: the id becomes a budget grain's key and a
    /// row of the tenant's spend rollups, so a 30 KB header must not make 30 KB keys and rows.
    /// </summary>
    private static string? HeaderUser(string value) => value.Length switch
    {
        0 => null,
        > ChatRequestMapper.MaxIdentifierLength => throw new PlatformException(
            ErrorKind.Invalid, $"the {UserHeader} header must be at most {ChatRequestMapper.MaxIdentifierLength} characters", UserHeader, "invalid_value"),
        _ => value,
    };

    public static async Task Embeddings(HttpContext context, ModelCatalogProvider catalogs, ChatExecutor executor, BudgetAdmission budgets, InferenceRecorder recorder)
    {
        var facts = new RequestFacts(Platform.RequestLog.RequestOperations.Embeddings);
        var caller = context.GetCaller();
        var aborted = context.RequestAborted;
        try
        {
            var (model, inputs, options, base64, user) = await ReadEmbeddingRequestAsync(context.Request, aborted);
            var telemetry = RequestTelemetry.Of(context);
            telemetry?.Requested(model, base64);
            user ??= HeaderUser(context.Request.Headers[UserHeader].ToString());
            (facts.Model, facts.User) = (model, user);
            facts.Inputs = caller.ContentLimitBytes > 0 ? inputs : null;
            var route = ModelAccess.Find(caller, catalogs, model, ModelModes.Embedding);
            facts.Route = route.Name;
            telemetry?.Routed(route);
            var (admission, refusal) = await budgets.AdmitEmbeddingAsync(caller, route, executor.Routes(route), user, inputs, aborted);
            if (refusal is not null)
            {
                (facts.Status, facts.ErrorCode) = await WriteRefusalAsync(context, refusal);
                return;
            }

            try
            {
                BudgetHeaders.Write(context.Response.Headers, admission!.Headroom);
                facts.Outcome = await EmbedAsync(context, executor, route, inputs, options, base64, model, admission, aborted);
            }
            finally
            {
                admission!.Release();
            }
        }
        catch (Exception ex)
        {
            facts.Failed(ex, aborted.IsCancellationRequested);
            throw;
        }
        finally
        {
            recorder.Log(context, caller, in facts);
        }
    }

    private static async Task<ChatOutcome> EmbedAsync(
        HttpContext context, ChatExecutor executor, ResolvedRoute route, IReadOnlyList<string> inputs, EmbeddingGenerationOptions options, bool base64,
        string model, Admission admission, CancellationToken aborted)
    {
        var (embeddings, servedBy) = await executor.EmbedAsync(route, inputs, options, aborted);
        var inputTokens = embeddings.Usage?.InputTokenCount ?? inputs.Sum(i => (long)TokenCounter.Count(i));
        var cost = servedBy.Route.Price.Cost(inputTokens, 0, 0);
        var usage = new UsageCost(inputTokens, 0, 0, cost, embeddings.Usage?.InputTokenCount is null);
        admission.Settle(usage, servedBy.Route.Name);
        SetRouteHeaders(context.Response, servedBy);
        context.Response.Headers[CostHeader] = CompletionWriter.FormatCost(cost);
        context.Response.ContentType = "application/json";
        CompletionWriter.WriteEmbeddings(context.Response.BodyWriter, embeddings, model, inputTokens, base64);
        RequestTelemetry.Of(context)?.Completed(usage, success: true);
        await context.Response.BodyWriter.FlushAsync(aborted);
        return new ChatOutcome(true, servedBy.Route.Name, usage, null, null, servedBy.Attempts, servedBy.Fallback);
    }

    private static Task<(string Model, IReadOnlyList<string> Inputs, EmbeddingGenerationOptions Options, bool Base64, string? User)> ReadEmbeddingRequestAsync(
        HttpRequest request, CancellationToken aborted) =>
        ReadBodyAsync(request, GatewayJsonContext.Default.EmbeddingRequest, MapEmbedding, aborted);

    private static (string Model, IReadOnlyList<string> Inputs, EmbeddingGenerationOptions Options, bool Base64, string? User) MapEmbedding(EmbeddingRequest wire)
    {
        if (string.IsNullOrWhiteSpace(wire.Model))
        {
            throw new PlatformException(ErrorKind.Invalid, "you must provide a model parameter", "model", "invalid_value");
        }

        List<string> inputs = wire.Input.ValueKind switch
        {
            JsonValueKind.String => [wire.Input.GetString()!],
            JsonValueKind.Array when wire.Input.GetArrayLength() is > 0 and <= 2048
                && wire.Input.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
                => [.. wire.Input.EnumerateArray().Select(e => e.GetString()!)],
            _ => throw new PlatformException(ErrorKind.Invalid, "input must be a string or an array of 1 to 2048 strings", "input", "invalid_value"),
        };
        if (inputs.Any(string.IsNullOrEmpty))
        {
            throw new PlatformException(ErrorKind.Invalid, "input must not contain empty strings", "input", "invalid_value");
        }

        if (wire.Dimensions is <= 0 or > MaxEmbeddingDimensions)
        {
            throw new PlatformException(ErrorKind.Invalid, $"dimensions must be between 1 and {MaxEmbeddingDimensions}", "dimensions", "invalid_value");
        }

        // A 10 KB request must not buy a response of hundreds of megabytes: inputs x dimensions is bounded.
        if ((long)inputs.Count * (wire.Dimensions ?? 0) > MaxEmbeddingValues)
        {
            throw new PlatformException(
                ErrorKind.Invalid,
                $"{inputs.Count} inputs of {wire.Dimensions} dimensions exceed {MaxEmbeddingValues} values per request; send fewer inputs or dimensions",
                "dimensions",
                "invalid_value");
        }

        if (wire.User is { Length: > ChatRequestMapper.MaxIdentifierLength })
        {
            throw new PlatformException(ErrorKind.Invalid, $"user must be at most {ChatRequestMapper.MaxIdentifierLength} characters", "user", "invalid_value");
        }

        var base64 = wire.EncodingFormat switch
        {
            null or "float" => false,
            "base64" => true,
            _ => throw new PlatformException(ErrorKind.Invalid, "encoding_format must be 'float' or 'base64'", "encoding_format", "invalid_value"),
        };
        return (wire.Model, inputs, new EmbeddingGenerationOptions { Dimensions = wire.Dimensions }, base64, string.IsNullOrEmpty(wire.User) ? null : wire.User);
    }

    private static async Task<ChatOutcome> StreamAsync(
        HttpContext context, ChatExecutor executor, ResolvedRoute route, GatewayRequest request, string clientModel, string id, long created, long started,
        Admission admission, CancellationToken aborted)
    {
        await using var stream = await executor.OpenStreamAsync(route, request, aborted);
        var meter = new StreamMeter(admission);
        var text = new StringBuilder();
        UsageDetails? usage = null;
        try
        {
            var ttft = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            double? quality = null;
            var response = context.Response;
            SetRouteHeaders(response, stream.ServedBy);
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";

            using var body = new HeldResponseWriter(response.BodyWriter);
            var chunks = new ChunkWriter(clientModel, id, created);
            var first = true;
            while (true)
            {
                var update = stream.Updates.Current;
                var contents = update.Contents;
                for (var i = 0; i < contents.Count; i++)
                {
                    // An indexed loop: foreach over the IList boxes an enumerator per chunk.
                    if (contents[i] is UsageContent u)
                    {
                        usage = u.Details;
                    }
                }

                text.Append(update.Text);
                quality = InferenceRecorder.Quality(update.AdditionalProperties) ?? quality;
                if (meter.Exhausted(text))
                {
                    // What is left of the reservation would not pay for more: end with an error event rather than overspend.
                    var spent = UsageMeter.Settle(stream.ServedBy.Route, request, null, text.ToString());
                    admission.Settle(spent, stream.ServedBy.Route.Name);
                    WriteStreamError(body, 429, meter.Message(spent), ErrorCodes.BudgetExceeded);
                    await body.FlushAsync(aborted);
                    return new ChatOutcome(
                        false, stream.ServedBy.Route.Name, spent, ttft, quality, stream.ServedBy.Attempts, stream.ServedBy.Fallback, 429, ErrorCodes.BudgetExceeded, text);
                }

                if (text.Length > MaxStreamTextChars)
                {
                    // A provider that never stops: end with an error event rather than hold its text without bound.
                    var spent = UsageMeter.Settle(stream.ServedBy.Route, request, usage, text.ToString());
                    admission.Settle(spent, stream.ServedBy.Route.Name);
                    WriteStreamError(
                        body, 502, $"The model provider sent more than {MaxStreamTextChars} characters of text in one stream, so the stream was ended.", "upstream_error");
                    await body.FlushAsync(aborted);
                    return new ChatOutcome(false, stream.ServedBy.Route.Name, spent, ttft, quality);
                }

                if (CompletionWriter.HasChunkPayload(update, first))
                {
                    chunks.Write(body, update, first);
                    first = false;
                }

                bool more;
                try
                {
                    // Flushes what was written while the provider is read, unless its next update is already here.
                    more = await stream.MoveNextAsync(body, aborted);
                }
                catch (Exception ex) when (!aborted.IsCancellationRequested)
                {
                    var failure = ChatExecutor.MidStreamFailure(ex, ex is OperationCanceledException);
                    var spent = UsageMeter.Settle(stream.ServedBy.Route, request, usage, text.ToString());
                    admission.Settle(spent, stream.ServedBy.Route.Name);
                    var status = failure.Kind == ErrorKind.GatewayTimeout ? 504 : 502;
                    WriteStreamError(body, status, failure.Message, failure.Code!);
                    await body.FlushAsync(aborted);
                    return new ChatOutcome(
                        false, stream.ServedBy.Route.Name, spent, ttft, quality, stream.ServedBy.Attempts, stream.ServedBy.Fallback, status, failure.Code, text);
                }

                if (!more)
                {
                    break;
                }
            }

            var cost = UsageMeter.Settle(stream.ServedBy.Route, request, usage, text.ToString());
            admission.Settle(cost, stream.ServedBy.Route.Name);
            if (request.IncludeUsage)
            {
                body.Write("data: "u8);
                CompletionWriter.WriteUsageChunk(body, clientModel, id, created, cost, stream.ServedBy.Route.Name, stream.ServedBy.Fallback);
                body.Write("\n\n"u8);
            }

            body.Write("data: [DONE]\n\n"u8);
            await body.FlushAsync(aborted);
            RequestTelemetry.Of(context)?.Output(text);
            return new ChatOutcome(true, stream.ServedBy.Route.Name, cost, ttft, quality, stream.ServedBy.Attempts, stream.ServedBy.Fallback, Completion: text);
        }
        finally
        {
            // A client that left mid-stream still pays for what the provider produced until then.
            if (!admission.Closed)
            {
                admission.Settle(UsageMeter.Settle(stream.ServedBy.Route, request, usage, text.ToString()), stream.ServedBy.Route.Name);
            }
        }
    }

    private static async Task<(int Status, string Code)> WriteRefusalAsync(HttpContext context, BudgetRefusal refusal)
    {
        RequestTelemetry.Of(context)?.Refused();
        var (status, message, code, field) = Http.PlatformExceptionHandler.Classify(refusal.Error);
        BudgetHeaders.Write(context.Response.Headers, refusal.Headroom);
        if (refusal.Error.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await Http.ErrorResponses.WriteAsync(context, status, message, code, field);
        return (status, code);
    }

    private static void WriteStreamError(IBufferWriter<byte> body, int status, string message, string code)
    {
        body.Write("data: "u8);
        body.Write(JsonSerializer.SerializeToUtf8Bytes(Http.ErrorResponses.OpenAiError(status, message, code, null), Http.PlatformJson.OpenAi));
        body.Write("\n\n"u8);
    }

    private static Task<GatewayRequest> ReadRequestAsync(HttpRequest request, CancellationToken aborted) =>
        ReadBodyAsync(request, GatewayJsonContext.Default.ChatCompletionRequest, ChatRequestMapper.Map, aborted);

    /// <summary>
    /// Reads and maps an OpenAI request body; every way a body can be wrong becomes an OpenAI-shaped 400.
    /// Mapping reads strings out of <see cref="JsonElement"/>s, which is where invalid UTF-8 and values of the
    /// wrong kind first show up, so it runs inside the same guard.
    /// </summary>
    private static async Task<TResult> ReadBodyAsync<TWire, TResult>(
        HttpRequest request, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TWire> type, Func<TWire, TResult> map, CancellationToken aborted)
    {
        try
        {
            var wire = await JsonSerializer.DeserializeAsync(request.Body, type, aborted)
                ?? throw new PlatformException(ErrorKind.Invalid, "The request body must be a JSON object.", null, "invalid_json");
            return map(wire);
        }
        catch (JsonException ex)
        {
            throw new PlatformException(ErrorKind.Invalid, JsonErrors.Describe(ex), JsonErrors.Field(ex), "invalid_json");
        }
        catch (InvalidOperationException ex) when (ex.InnerException is DecoderFallbackException)
        {
            throw new PlatformException(ErrorKind.Invalid, "The request body is not valid UTF-8.", null, "invalid_encoding");
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException)
        {
            // The mapper checks every field it reads; this is the net under it, and says nothing of our internals.
            throw new PlatformException(ErrorKind.Invalid, "A field of the request has a value of the wrong kind.", null, "invalid_value");
        }
    }

    private static void SetRouteHeaders(HttpResponse response, ServedBy servedBy)
    {
        RequestTelemetry.Of(response.HttpContext)?.Served(servedBy);
        response.Headers[RouteHeader] = servedBy.Route.Name;
        response.Headers[FallbackHeader] = servedBy.Fallback ? "true" : "false";
        response.Headers[AttemptsHeader] = servedBy.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
