using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Silo.Gateway;

/// <summary>
/// The OpenAI chat-completions request as it arrives. Fields this gateway does not use are accepted
/// and ignored (SDKs send many), so only known fields are typed.
/// </summary>
public sealed class ChatCompletionRequest
{
    public string? Model { get; set; }

    public List<WireMessage>? Messages { get; set; }

    public double? Temperature { get; set; }

    public double? TopP { get; set; }

    public int? MaxTokens { get; set; }

    public int? MaxCompletionTokens { get; set; }

    public double? FrequencyPenalty { get; set; }

    public double? PresencePenalty { get; set; }

    public long? Seed { get; set; }

    public JsonElement Stop { get; set; }

    public int? N { get; set; }

    public bool? Stream { get; set; }

    public WireStreamOptions? StreamOptions { get; set; }

    public JsonElement ResponseFormat { get; set; }

    public List<WireTool>? Tools { get; set; }

    public JsonElement ToolChoice { get; set; }

    public string? User { get; set; }

    public Dictionary<string, string>? Metadata { get; set; }

    /// <summary>Platform extension: render a registered prompt and prepend its messages.</summary>
    public WirePromptReference? Prompt { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; set; }
}

public sealed class WirePromptReference
{
    public string? Name { get; set; }

    public int? Version { get; set; }

    public string? Label { get; set; }

    public Dictionary<string, JsonElement>? Variables { get; set; }
}

public sealed class WireStreamOptions
{
    public bool? IncludeUsage { get; set; }
}

public sealed class WireMessage
{
    public string? Role { get; set; }

    public JsonElement Content { get; set; }

    public string? Name { get; set; }

    public List<WireToolCall>? ToolCalls { get; set; }

    public string? ToolCallId { get; set; }
}

public sealed class WireToolCall
{
    public string? Id { get; set; }

    public string? Type { get; set; }

    public WireFunctionCall? Function { get; set; }
}

public sealed class WireFunctionCall
{
    public string? Name { get; set; }

    public string? Arguments { get; set; }
}

public sealed class WireTool
{
    public string? Type { get; set; }

    public WireFunction? Function { get; set; }
}

public sealed class WireFunction
{
    public string? Name { get; set; }

    public string? Description { get; set; }

    public JsonElement Parameters { get; set; }
}

/// <summary>The OpenAI embeddings request.</summary>
public sealed class EmbeddingRequest
{
    public string? Model { get; set; }

    public JsonElement Input { get; set; }

    public int? Dimensions { get; set; }

    public string? EncodingFormat { get; set; }

    public string? User { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict,
    ReadCommentHandling = JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(EmbeddingRequest))]
internal sealed partial class GatewayJsonContext : JsonSerializerContext;
