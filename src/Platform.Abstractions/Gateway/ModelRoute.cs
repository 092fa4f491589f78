namespace Platform.Gateway;

/// <summary>
/// One entry of the model catalog (<c>Platform:Models:{i}</c>): a name clients put in <c>model</c>, and how to
/// reach the model behind it. Credentials are references (an environment variable name), never values.
/// </summary>
[GenerateSerializer]
[Alias("Platform.Gateway.ModelRoute")]
public sealed class ModelRoute
{
    /// <summary>What clients send as <c>model</c>.</summary>
    [Id(0)]
    public string Name { get; set; } = "";

    /// <summary><c>openai</c> (OpenAI or any OpenAI-compatible server), <c>azure-openai</c> or <c>simulated</c>.</summary>
    [Id(1)]
    public string Provider { get; set; } = ProviderNames.Simulated;

    /// <summary>Base URL of the provider (for example <c>https://api.openai.com/v1</c> or a vLLM server). Default: the provider's own.</summary>
    [Id(2)]
    public string? Endpoint { get; set; }

    /// <summary>The upstream model (OpenAI) or deployment (Azure OpenAI) name; also the default price-table key. Default: <see cref="Name"/>.</summary>
    [Id(3)]
    public string? UpstreamModel { get; set; }

    /// <summary>Name of the environment variable that holds the provider's API key. Never echoed back.</summary>
    [Id(4)]
    public string? CredentialEnvironmentVariable { get; set; }

    /// <summary>USD per million input tokens; default from the price table.</summary>
    [Id(5)]
    public decimal? InputPricePerMillion { get; set; }

    /// <summary>USD per million cached input tokens; default from the price table, else the input price.</summary>
    [Id(6)]
    public decimal? CachedInputPricePerMillion { get; set; }

    /// <summary>USD per million output tokens; default from the price table.</summary>
    [Id(7)]
    public decimal? OutputPricePerMillion { get; set; }

    /// <summary>Context window in tokens; default from the price table.</summary>
    [Id(8)]
    public int? ContextWindow { get; set; }

    /// <summary>Per-attempt timeout. Default 60 s.</summary>
    [Id(9)]
    public double TimeoutSeconds { get; set; } = 60;

    /// <summary>Retries on 429, 5xx and timeouts, with jittered exponential backoff. Default 2.</summary>
    [Id(10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>First backoff; doubles each retry, with full jitter. Default 200 ms.</summary>
    [Id(11)]
    public double RetryBaseDelayMilliseconds { get; set; } = 200;

    /// <summary>Routes to try, in order, when this one fails after its retries.</summary>
    [Id(12)]
    public List<string> Fallbacks { get; set; } = [];

    /// <summary>Settings of the <c>simulated</c> provider.</summary>
    [Id(13)]
    public SimulatedModelOptions Simulated { get; set; } = new();

    /// <summary><c>chat</c> (default; <c>/v1/chat/completions</c>) or <c>embedding</c> (<c>/v1/embeddings</c>).</summary>
    [Id(14)]
    public string Mode { get; set; } = ModelModes.Chat;

    /// <summary>
    /// Input tokens the provider may bill for one image (or other attached file) at most: what a budget reserves for it
    /// before the call, and what an answer without usage is charged. Default 1,536 (GPT-4o and GPT-4.1 bill at most
    /// 1,445-1,536 for an image at high detail); set it higher for models that bill more tokens per image (GPT-4o mini).
    /// </summary>
    [Id(15)]
    public int? ImageInputTokens { get; set; }

    /// <summary>Used when <see cref="ImageInputTokens"/> is not set.</summary>
    public const int DefaultImageInputTokens = 1536;

    [System.Text.Json.Serialization.JsonIgnore]
    public int ImageTokens => ImageInputTokens ?? DefaultImageInputTokens;

    [System.Text.Json.Serialization.JsonIgnore]
    public string UpstreamName => string.IsNullOrWhiteSpace(UpstreamModel) ? Name : UpstreamModel;
}

public static class ModelModes
{
    public const string Chat = "chat";
    public const string Embedding = "embedding";
}

public static class ProviderNames
{
    public const string OpenAi = "openai";
    public const string AzureOpenAi = "azure-openai";
    public const string Simulated = "simulated";

    public static readonly IReadOnlyList<string> All = [OpenAi, AzureOpenAi, Simulated];
}

/// <summary>The simulated provider: deterministic for a given input and seed.</summary>
[GenerateSerializer]
[Alias("Platform.Gateway.SimulatedModelOptions")]
public sealed class SimulatedModelOptions
{
    /// <summary>Median time to the first token, in milliseconds. Default 0.</summary>
    [Id(0)]
    public double LatencyMilliseconds { get; set; }

    /// <summary>Spread of the latency (log-normal sigma; 0 = fixed). Default 0.</summary>
    [Id(1)]
    public double LatencySpread { get; set; }

    /// <summary>Fraction of requests that fail with a 500 (0-1). Default 0.</summary>
    [Id(2)]
    public double ErrorRate { get; set; }

    /// <summary>Words in the completion. Default 24.</summary>
    [Id(3)]
    public int OutputWords { get; set; } = 24;

    /// <summary>Mean quality score (0-1) reported with each response. Default 0.9.</summary>
    [Id(4)]
    public double Quality { get; set; } = 0.9;

    /// <summary>Mixed into every request's hash, so two simulated models differ. Default 0.</summary>
    [Id(5)]
    public int Seed { get; set; }
}
