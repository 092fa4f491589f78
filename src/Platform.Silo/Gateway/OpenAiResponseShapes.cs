using System.Text.Json.Serialization;

namespace Platform.Silo.Gateway;

// What /v1 answers, described for the OpenAPI document only: CompletionWriter writes these shapes directly
// to the response (no objects on the hot path). Field names are OpenAI's.

/// <summary>A <c>chat.completion</c> object (a stream sends <c>chat.completion.chunk</c> objects of the same outline, with <c>delta</c> for <c>message</c>).</summary>
public sealed record OpenAiChatCompletion(
    string Id,
    [property: JsonPropertyName("object")] string Kind,
    long Created,
    string Model,
    IReadOnlyList<OpenAiChoice> Choices,
    OpenAiUsage? Usage);

public sealed record OpenAiChoice(
    int Index,
    OpenAiMessage Message,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

public sealed record OpenAiMessage(
    string Role,
    string? Content,
    string? Refusal,
    [property: JsonPropertyName("tool_calls")] IReadOnlyList<OpenAiToolCall>? ToolCalls);

public sealed record OpenAiToolCall(string Id, string Type, OpenAiFunctionCall Function);

public sealed record OpenAiFunctionCall(string Name, string Arguments);

public sealed record OpenAiUsage(
    [property: JsonPropertyName("prompt_tokens")] long PromptTokens,
    [property: JsonPropertyName("completion_tokens")] long CompletionTokens,
    [property: JsonPropertyName("total_tokens")] long TotalTokens);

/// <summary>The <c>list</c> of <c>/v1/models</c>.</summary>
public sealed record OpenAiModelList([property: JsonPropertyName("object")] string Kind, IReadOnlyList<OpenAiModel> Data);

public sealed record OpenAiModel(string Id, [property: JsonPropertyName("object")] string Kind, long Created, [property: JsonPropertyName("owned_by")] string OwnedBy);

/// <summary>The <c>list</c> of <c>/v1/embeddings</c>: float arrays, or base64 strings with <c>encoding_format=base64</c>.</summary>
public sealed record OpenAiEmbeddingList([property: JsonPropertyName("object")] string Kind, IReadOnlyList<OpenAiEmbedding> Data, string Model, OpenAiUsage Usage);

public sealed record OpenAiEmbedding([property: JsonPropertyName("object")] string Kind, int Index, IReadOnlyList<float> Embedding);
