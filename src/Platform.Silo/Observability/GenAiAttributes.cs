namespace Platform.Silo.Observability;

/// <summary>
/// Attribute names of the OpenTelemetry GenAI semantic conventions (latest, in Development: <c>gen_ai.provider.name</c>
/// rather than the older <c>gen_ai.system</c>), and the platform's own, in one place.
/// </summary>
public static class GenAiAttributes
{
    public const string OperationName = "gen_ai.operation.name";
    public const string ProviderName = "gen_ai.provider.name";
    public const string RequestModel = "gen_ai.request.model";
    public const string ResponseModel = "gen_ai.response.model";
    public const string ResponseId = "gen_ai.response.id";
    public const string FinishReasons = "gen_ai.response.finish_reasons";
    public const string InputTokens = "gen_ai.usage.input_tokens";
    public const string OutputTokens = "gen_ai.usage.output_tokens";
    public const string CachedInputTokens = "gen_ai.usage.cache_read.input_tokens";
    public const string TokenType = "gen_ai.token.type";
    public const string MaxTokens = "gen_ai.request.max_tokens";
    public const string Temperature = "gen_ai.request.temperature";
    public const string TopP = "gen_ai.request.top_p";
    public const string FrequencyPenalty = "gen_ai.request.frequency_penalty";
    public const string PresencePenalty = "gen_ai.request.presence_penalty";
    public const string Seed = "gen_ai.request.seed";
    public const string StopSequences = "gen_ai.request.stop_sequences";
    public const string EncodingFormats = "gen_ai.request.encoding_formats";
    public const string InputMessages = "gen_ai.input.messages";
    public const string OutputMessages = "gen_ai.output.messages";
    public const string ErrorType = "error.type";
    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";
    public const string HttpMethod = "http.request.method";
    public const string HttpRoute = "http.route";
    public const string UrlPath = "url.path";
    public const string HttpStatusCode = "http.response.status_code";

    public const string Chat = "chat";
    public const string Embeddings = "embeddings";

    // The platform's own, on the request span.
    public const string Tenant = "platform.tenant";
    public const string Deployment = "platform.deployment";
    public const string Arm = "platform.arm";
    public const string PromptVersion = "platform.prompt.version";
    public const string Route = "platform.route";
    public const string ServedRoute = "platform.route.served";
    public const string Attempts = "platform.attempts";
    public const string Attempt = "platform.attempt";
    public const string Fallback = "platform.fallback";
    public const string CostUsd = "platform.cost_usd";
    public const string Stream = "platform.stream";
    public const string StatusClass = "platform.status_class";

    /// <summary>
    /// The <c>gen_ai.provider.name</c> of a route's provider: the semantic conventions' well-known values for OpenAI and
    /// Azure OpenAI (the ones Microsoft.Extensions.AI reports too), and the platform's own name for the simulated model.
    /// </summary>
    public static string Provider(string provider) => provider switch
    {
        Platform.Gateway.ProviderNames.OpenAi => "openai",
        Platform.Gateway.ProviderNames.AzureOpenAi => "azure.ai.openai",
        _ => "platform.simulated",
    };
}
