using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Platform.Silo.Gateway;

/// <summary>Usage and cost of one request, in the provider's or our own token counts.</summary>
public readonly record struct UsageCost(long InputTokens, long CachedInputTokens, long OutputTokens, decimal CostUsd, bool Estimated)
{
    public long TotalTokens => InputTokens + OutputTokens;
}

/// <summary>Writes OpenAI wire JSON straight to a buffer with <see cref="Utf8JsonWriter"/>: no intermediate object graph.</summary>
public static class CompletionWriter
{
    public static void WriteCompletion(IBufferWriter<byte> buffer, ChatResponse response, string model, string id, long created, UsageCost usage)
    {
        using var json = new Utf8JsonWriter(buffer);
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteString("object", "chat.completion");
        json.WriteNumber("created", created);
        json.WriteString("model", model);
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("message");
        json.WriteString("role", "assistant");
        var text = response.Text;
        var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
        if (text.Length > 0 || calls.Count == 0)
        {
            json.WriteString("content", text);
        }
        else
        {
            json.WriteNull("content");
        }

        json.WriteNull("refusal");
        if (calls.Count > 0)
        {
            WriteToolCalls(json, calls, withIndex: false);
        }

        json.WriteEndObject();
        json.WriteNull("logprobs");
        json.WriteString("finish_reason", FinishReason(response.FinishReason, calls.Count > 0));
        json.WriteEndObject();
        json.WriteEndArray();
        WriteUsage(json, usage);
        json.WriteEndObject();
    }

    /// <summary>Whether an update has anything for the client (text, tool calls, a finish reason, or is the first).</summary>
    public static bool HasChunkPayload(ChatResponseUpdate update, bool first)
    {
        if (first || update.FinishReason is not null)
        {
            return true;
        }

        // Called for every chunk of every stream: an indexed loop, no LINQ and no enumerator.
        var contents = update.Contents;
        for (var i = 0; i < contents.Count; i++)
        {
            if (contents[i] is TextContent { Text.Length: > 0 } or FunctionCallContent)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One <c>chat.completion.chunk</c>.</summary>
    public static void WriteChunk(IBufferWriter<byte> buffer, ChatResponseUpdate update, string model, string id, long created, bool first)
    {
        var text = update.Text;
        var calls = FunctionCalls(update.Contents);
        var json = ChunkJson(buffer);
        WriteChunkStart(json, id, created, model);
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("delta");
        if (first)
        {
            json.WriteString("role", "assistant");
        }

        if (text.Length > 0 || first)
        {
            json.WriteString("content", text);
        }

        if (calls.Count > 0)
        {
            WriteToolCalls(json, calls, withIndex: true);
        }

        json.WriteEndObject();
        json.WriteNull("logprobs");
        if (update.FinishReason is { } reason)
        {
            json.WriteString("finish_reason", FinishReason(reason, calls.Count > 0));
        }
        else
        {
            json.WriteNull("finish_reason");
        }

        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
    }

    /// <summary>The final usage chunk (<c>stream_options.include_usage</c>): empty choices, usage, and the platform's cost.</summary>
    public static void WriteUsageChunk(IBufferWriter<byte> buffer, string model, string id, long created, UsageCost usage, string route, bool fallback)
    {
        using var json = new Utf8JsonWriter(buffer);
        WriteChunkStart(json, id, created, model);
        json.WriteStartArray("choices");
        json.WriteEndArray();
        WriteUsage(json, usage);
        json.WriteStartObject("platform");
        json.WriteString("route", route);
        json.WriteNumber("cost_usd", usage.CostUsd);
        json.WriteBoolean("fallback", fallback);
        json.WriteBoolean("usage_estimated", usage.Estimated);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    public static void WriteEmbeddings(IBufferWriter<byte> buffer, GeneratedEmbeddings<Embedding<float>> embeddings, string model, long inputTokens, bool base64)
    {
        using var json = new Utf8JsonWriter(buffer);
        json.WriteStartObject();
        json.WriteString("object", "list");
        json.WriteStartArray("data");
        for (var i = 0; i < embeddings.Count; i++)
        {
            json.WriteStartObject();
            json.WriteString("object", "embedding");
            json.WriteNumber("index", i);
            var vector = embeddings[i].Vector.Span;
            if (base64)
            {
                json.WriteBase64String("embedding", System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector));
            }
            else
            {
                json.WriteStartArray("embedding");
                foreach (var value in vector)
                {
                    json.WriteNumberValue(value);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteString("model", model);
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", inputTokens);
        json.WriteNumber("total_tokens", inputTokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    public static string FormatCost(decimal cost) => cost.ToString("0.##########", CultureInfo.InvariantCulture);

    /// <summary>One writer per thread for the chunks of every stream (a chunk is written synchronously), instead of one per chunk.</summary>
    [ThreadStatic]
    private static Utf8JsonWriter? t_chunkJson;

    private static Utf8JsonWriter ChunkJson(IBufferWriter<byte> buffer)
    {
        if (t_chunkJson is { } json)
        {
            json.Reset(buffer);
            return json;
        }

        return t_chunkJson = new Utf8JsonWriter(buffer);
    }

    /// <summary>A JSON string, escaped as every other string of the chunks (with the writer of <see cref="WriteChunk"/>).</summary>
    internal static void WriteStringValue(IBufferWriter<byte> buffer, string value)
    {
        var json = ChunkJson(buffer);
        json.WriteStringValue(value);
        json.Flush();
    }

    private static List<FunctionCallContent> FunctionCalls(IList<AIContent> contents)
    {
        List<FunctionCallContent>? calls = null;
        for (var i = 0; i < contents.Count; i++)
        {
            if (contents[i] is FunctionCallContent call)
            {
                (calls ??= []).Add(call);
            }
        }

        return calls ?? NoCalls;
    }

    private static readonly List<FunctionCallContent> NoCalls = [];

    private static void WriteChunkStart(Utf8JsonWriter json, string id, long created, string model)
    {
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteString("object", "chat.completion.chunk");
        json.WriteNumber("created", created);
        json.WriteString("model", model);
    }

    private static void WriteUsage(Utf8JsonWriter json, UsageCost usage)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", usage.InputTokens);
        json.WriteNumber("completion_tokens", usage.OutputTokens);
        json.WriteNumber("total_tokens", usage.TotalTokens);
        json.WriteStartObject("prompt_tokens_details");
        json.WriteNumber("cached_tokens", usage.CachedInputTokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteToolCalls(Utf8JsonWriter json, List<FunctionCallContent> calls, bool withIndex)
    {
        json.WriteStartArray("tool_calls");
        for (var i = 0; i < calls.Count; i++)
        {
            json.WriteStartObject();
            if (withIndex)
            {
                json.WriteNumber("index", i);
            }

            json.WriteString("id", calls[i].CallId);
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", calls[i].Name);
            json.WriteString("arguments", Platform.Providers.OpenAi.OpenAiWire.ArgumentsJson(calls[i]));
            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static string FinishReason(ChatFinishReason? reason, bool hasToolCalls)
    {
        if (reason == ChatFinishReason.Length)
        {
            return "length";
        }

        if (reason == ChatFinishReason.ContentFilter)
        {
            return "content_filter";
        }

        return reason == ChatFinishReason.ToolCalls || hasToolCalls ? "tool_calls" : "stop";
    }
}
