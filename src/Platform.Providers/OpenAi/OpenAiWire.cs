using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Platform.Providers.OpenAi;

/// <summary>
/// The OpenAI chat-completions wire format, written and read directly with <see cref="Utf8JsonWriter"/> and
/// <see cref="JsonDocument"/>: Microsoft.Extensions.AI messages and options in, a request body out; a response
/// or stream chunk in, Microsoft.Extensions.AI results out. No intermediate SDK object model.
/// </summary>
public static class OpenAiWire
{
    /// <summary>The raw JSON of a tool call's arguments, kept as the client or provider sent them (also when they are not valid JSON).</summary>
    public const string RawArgumentsProperty = "platform.raw_arguments";

    /// <summary>
    /// <see cref="ChatOptions.AdditionalProperties"/> key naming the field the caller used for the output limit
    /// (<c>max_tokens</c> or <c>max_completion_tokens</c>), so it is forwarded under the same name.
    /// </summary>
    public const string MaxTokensFieldProperty = "platform.max_tokens_field";

    /// <summary>
    /// <see cref="ChatOptions.AdditionalProperties"/> key of the request fields in <see cref="PassThroughFields"/> the
    /// caller sent, an <see cref="IReadOnlyDictionary{TKey, TValue}"/> of name to <see cref="JsonElement"/>: forwarded as sent.
    /// </summary>
    public const string PassThroughProperty = "platform.pass_through";

    /// <summary><see cref="ChatOptions.AdditionalProperties"/> key of the <c>user</c> to forward for the provider's abuse monitoring.</summary>
    public const string UserProperty = "platform.user";

    /// <summary>
    /// <see cref="ChatOptions.AdditionalProperties"/> key of the tenant's prefix (<c>t&lt;hash&gt;-</c>) put in front of
    /// <c>user</c> and every <see cref="TenantScopedFields"/> value, so that two tenants sharing a provider account
    /// never share an end-user id or a prompt-cache key.
    /// </summary>
    public const string TenantScopeProperty = "platform.tenant_scope";

    /// <summary>Pass-through fields that name a person or a cache: scoped to the tenant before they go upstream.</summary>
    public static readonly IReadOnlySet<string> TenantScopedFields = new HashSet<string>(StringComparer.Ordinal)
    {
        "safety_identifier", "prompt_cache_key",
    };

    /// <summary>
    /// OpenAI request fields the gateway forwards without interpreting them (exact, lower-case names). Others are
    /// dropped: fields the gateway owns must not be smuggled past validation under another spelling (servers
    /// such as Ollama match JSON names without regard to case), and fields that change what a request costs
    /// or where its data is kept (<c>service_tier</c>, <c>store</c>, <c>audio</c>, <c>prediction</c>,
    /// <c>web_search_options</c>) would make the platform's cost accounting wrong.
    /// </summary>
    public static readonly IReadOnlySet<string> PassThroughFields = new HashSet<string>(StringComparer.Ordinal)
    {
        "parallel_tool_calls", "reasoning_effort", "logprobs", "top_logprobs", "logit_bias", "verbosity",
        "safety_identifier", "prompt_cache_key",
    };

    // The body goes to a JSON parser, not into HTML: no need to escape non-ASCII text (which would double CJK bodies).
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Writes a chat-completions request body. With <c>azure</c>, in Azure OpenAI's dialect as its SDK writes it:
    /// <c>max_tokens</c> unless the caller named <c>max_completion_tokens</c>, and no <c>stream_options</c> on
    /// requests with images (older API versions refuse them).
    /// </summary>
    public static void WriteRequest(IBufferWriter<byte> buffer, string model, IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream, bool azure = false)
    {
        using var json = new Utf8JsonWriter(buffer, WriterOptions);
        json.WriteStartObject();
        json.WriteString("model", model);
        json.WriteStartArray("messages");
        var images = false;
        foreach (var message in messages)
        {
            images |= WriteMessage(json, message);
        }

        json.WriteEndArray();
        if (options is not null)
        {
            WriteOptions(json, options, azure);
        }

        if (stream)
        {
            json.WriteBoolean("stream", true);
            if (azure && images)
            {
                json.WriteEndObject();
                return;
            }

            json.WriteStartObject("stream_options");
            json.WriteBoolean("include_usage", true);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    /// <summary>Writes one message (a tool message: one per result); returns whether it carried an image.</summary>
    private static bool WriteMessage(Utf8JsonWriter json, ChatMessage message)
    {
        var role = message.Role == ChatRole.System ? "system"
            : message.Role == ChatRole.Assistant ? "assistant"
            : message.Role == ChatRole.Tool ? "tool"
            : "user";
        if (role == "tool")
        {
            // One wire message per tool result.
            foreach (var result in message.Contents.OfType<FunctionResultContent>())
            {
                json.WriteStartObject();
                json.WriteString("role", "tool");
                json.WriteString("tool_call_id", result.CallId);
                json.WriteString("content", ResultText(result.Result));
                json.WriteEndObject();
            }

            return false;
        }

        json.WriteStartObject();
        json.WriteString("role", role);
        if (message.AuthorName is { Length: > 0 } name)
        {
            json.WriteString("name", name);
        }

        var calls = 0;
        var parts = 0;
        var images = false;
        foreach (var content in message.Contents)
        {
            switch (content)
            {
                case FunctionCallContent:
                    calls++;
                    break;
                case TextContent:
                    parts++;
                    break;
                case DataContent or UriContent:
                    parts++;
                    images = true;
                    break;
            }
        }

        if (parts == 0)
        {
            if (calls > 0)
            {
                json.WriteNull("content");
            }
            else
            {
                json.WriteString("content", "");
            }
        }
        else if (parts == 1 && !images)
        {
            json.WriteString("content", message.Contents.OfType<TextContent>().First().Text);
        }
        else
        {
            json.WriteStartArray("content");
            foreach (var content in message.Contents)
            {
                switch (content)
                {
                    case TextContent text:
                        json.WriteStartObject();
                        json.WriteString("type", "text");
                        json.WriteString("text", text.Text);
                        json.WriteEndObject();
                        break;
                    case DataContent data:
                        WriteImagePart(json, data.Uri);
                        break;
                    case UriContent uri:
                        WriteImagePart(json, uri.Uri.OriginalString);
                        break;
                }
            }

            json.WriteEndArray();
        }

        if (calls > 0)
        {
            json.WriteStartArray("tool_calls");
            foreach (var call in message.Contents.OfType<FunctionCallContent>())
            {
                json.WriteStartObject();
                json.WriteString("id", call.CallId);
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", call.Name);
                json.WriteString("arguments", ArgumentsJson(call));
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
        return images;
    }

    private static void WriteImagePart(Utf8JsonWriter json, string url)
    {
        json.WriteStartObject();
        json.WriteString("type", "image_url");
        json.WriteStartObject("image_url");
        json.WriteString("url", url);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteOptions(Utf8JsonWriter json, ChatOptions options, bool azure)
    {
        if (options.Temperature is { } temperature)
        {
            json.WriteNumber("temperature", temperature);
        }

        if (options.TopP is { } topP)
        {
            json.WriteNumber("top_p", topP);
        }

        if (options.FrequencyPenalty is { } frequency)
        {
            json.WriteNumber("frequency_penalty", frequency);
        }

        if (options.PresencePenalty is { } presence)
        {
            json.WriteNumber("presence_penalty", presence);
        }

        if (options.MaxOutputTokens is { } max)
        {
            var field = options.AdditionalProperties?.TryGetValue(MaxTokensFieldProperty, out var named) == true && named is "max_tokens" or "max_completion_tokens"
                ? (string)named!
                : azure ? "max_tokens" : "max_completion_tokens";
            json.WriteNumber(field, max);
        }

        if (options.Seed is { } seed)
        {
            json.WriteNumber("seed", seed);
        }

        if (options.StopSequences is { Count: > 0 } stop)
        {
            json.WriteStartArray("stop");
            foreach (var s in stop)
            {
                json.WriteStringValue(s);
            }

            json.WriteEndArray();
        }

        switch (options.ResponseFormat)
        {
            case ChatResponseFormatText:
                json.WriteStartObject("response_format");
                json.WriteString("type", "text");
                json.WriteEndObject();
                break;
            case ChatResponseFormatJson { Schema: { } schema } format:
                json.WriteStartObject("response_format");
                json.WriteString("type", "json_schema");
                json.WriteStartObject("json_schema");
                json.WriteString("name", format.SchemaName ?? "response");
                if (format.SchemaDescription is { } description)
                {
                    json.WriteString("description", description);
                }

                json.WritePropertyName("schema");
                schema.WriteTo(json);
                json.WriteEndObject();
                json.WriteEndObject();
                break;
            case ChatResponseFormatJson:
                json.WriteStartObject("response_format");
                json.WriteString("type", "json_object");
                json.WriteEndObject();
                break;
        }

        var declared = 0;
        if (options.Tools is { Count: > 0 } tools)
        {
            json.WriteStartArray("tools");
            foreach (var tool in tools.OfType<AIFunctionDeclaration>())
            {
                declared++;
                json.WriteStartObject();
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", tool.Name);
                if (!string.IsNullOrEmpty(tool.Description))
                {
                    json.WriteString("description", tool.Description);
                }

                json.WritePropertyName("parameters");
                tool.JsonSchema.WriteTo(json);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        var extra = options.AdditionalProperties;
        var scope = extra?.TryGetValue(TenantScopeProperty, out var prefix) == true ? prefix as string : null;
        if (extra?.TryGetValue(UserProperty, out var user) == true && user is string { Length: > 0 } id)
        {
            json.WriteString("user", scope + id);
        }

        if (extra?.TryGetValue(PassThroughProperty, out var passThrough) == true && passThrough is IReadOnlyDictionary<string, JsonElement> fields)
        {
            foreach (var (name, value) in fields)
            {
                if (TenantScopedFields.Contains(name))
                {
                    // A value that cannot be scoped is not sent at all (the gateway refuses non-strings before this).
                    if (value.ValueKind == JsonValueKind.String)
                    {
                        json.WriteString(name, scope + value.GetString());
                    }
                }
                else if (PassThroughFields.Contains(name))
                {
                    json.WritePropertyName(name);
                    value.WriteTo(json);
                }
            }
        }

        // OpenAI and vLLM refuse tool_choice without tools.
        switch (declared == 0 ? null : options.ToolMode)
        {
            case NoneChatToolMode:
                json.WriteString("tool_choice", "none");
                break;
            case AutoChatToolMode:
                json.WriteString("tool_choice", "auto");
                break;
            case RequiredChatToolMode { RequiredFunctionName: { } function }:
                json.WriteStartObject("tool_choice");
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", function);
                json.WriteEndObject();
                json.WriteEndObject();
                break;
            case RequiredChatToolMode:
                json.WriteString("tool_choice", "required");
                break;
        }
    }

    /// <summary>Reads a non-streaming chat completion.</summary>
    public static ChatResponse ReadResponse(ReadOnlyMemory<byte> body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
        {
            throw new InvalidDataException("The provider's answer has no choices.");
        }

        var choice = choices[0];
        var contents = new List<AIContent>();
        if (choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
        {
            if (message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String && content.GetString() is { Length: > 0 } text)
            {
                contents.Add(new TextContent(text));
            }

            if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
            {
                foreach (var call in calls.EnumerateArray())
                {
                    var function = call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object ? f : default;
                    if (function.ValueKind == JsonValueKind.Object && String(function, "name") is { } name && !string.IsNullOrWhiteSpace(name))
                    {
                        contents.Add(FunctionCall(String(call, "id") ?? "", name, String(function, "arguments")));
                    }
                }
            }
        }

        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents))
        {
            ResponseId = String(root, "id"),
            ModelId = String(root, "model"),
            FinishReason = FinishReason(choice),
            Usage = root.TryGetProperty("usage", out var usage) ? Usage(usage) : null,
        };
    }

    /// <summary>
    /// Accumulates a stream's chunks. Text is passed on as it arrives; tool calls arrive in fragments (an id and
    /// a name, then pieces of the arguments) and are passed on whole, with the update that carries the finish reason.
    /// </summary>
    public sealed class StreamReader
    {
        private readonly SortedDictionary<int, (string? Id, string? Name, StringBuilder Arguments)> _calls = [];

        // The last chunk's id and model: providers repeat them in every chunk, so one string each per stream.
        private string? _id;
        private string? _model;

        // The bytes before "choices" of the last chunk read in one pass (id, object, created, model...), which
        // providers repeat in every chunk of a stream, and the id and model they hold.
        private byte[]? _prefix;
        private string? _prefixId;
        private string? _prefixModel;

        // What surrounds the text in a chunk of nothing but text, after the prefix: from "choices" up to the content
        // string's opening quote, and from its closing quote to the end. Providers send the same bytes around every
        // chunk of text; a chunk made of them around a string without escapes is that string, read without a parser.
        private byte[]? _choiceHead;
        private byte[]? _choiceTail;

        /// <summary>Reads one <c>data:</c> payload.</summary>
        /// <remarks>
        /// Chunks of text, a finish reason or usage (nearly all of them) are read in one pass of a
        /// <see cref="Utf8JsonReader"/>; a chunk with tool calls, an error object or an unexpected shape is read
        /// through a <see cref="JsonDocument"/>, with the same result. Building a document for every chunk was the
        /// largest cost of a streamed request.
        /// </remarks>
        public ChatResponseUpdate Read(ReadOnlySpan<byte> data)
        {
            if (TryReadAfterPrefix(data, out var text, out var finish))
            {
                return Update(_prefixId, _prefixModel, text, finish, null);
            }

            return TryReadPlainChunk(data, out var id, out var model, out text, out finish, out var usage)
                ? Update(id, model, text, finish, usage)
                : ReadDocument(data);
        }

        /// <summary>
        /// A chunk that begins with the same bytes as the last one up to its <c>choices</c>, and ends after them: only
        /// the choices are read (the bytes before them are the ones already read, so they hold the same id and model).
        /// </summary>
        private bool TryReadAfterPrefix(ReadOnlySpan<byte> data, out string? text, out ChatFinishReason? finish)
        {
            (text, finish) = (null, null);
            if (_prefix is not { } prefix || !data.StartsWith(prefix))
            {
                return false;
            }

            var rest = data[prefix.Length..];
            if (TryReadPlainText(rest, out text))
            {
                return true;
            }

            var reader = new Utf8JsonReader(rest);
            var content = (Start: -1, End: -1);
            if (!reader.Read() || !TryReadChoices(ref reader, ref text, ref finish, ref content) || reader.TokenType != JsonTokenType.EndArray)
            {
                return false;
            }

            // Nothing but the end of the object may follow (a usage object, say, goes the long way).
            var after = rest[(int)reader.BytesConsumed..].TrimStart(" \t\r\n"u8);
            if (after.Length == 0 || after[0] != (byte)'}')
            {
                return false;
            }

            if (text is not null && finish is null && content.Start >= 0 && rest[content.Start] == (byte)'"' && rest[content.End - 1] == (byte)'"')
            {
                _choiceHead = rest[..(content.Start + 1)].ToArray();
                _choiceTail = rest[(content.End - 1)..].ToArray();
            }

            return true;
        }

        /// <summary>Bytes that end, escape or cannot stand in a JSON string as they are: such text goes through the parser.</summary>
        private static readonly SearchValues<byte> NotPlain = SearchValues.Create(
            [.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

        /// <summary>A chunk that is the last chunk of text's bytes around a string without escapes: that string, with no parser.</summary>
        private bool TryReadPlainText(ReadOnlySpan<byte> rest, out string? text)
        {
            text = null;
            if (_choiceHead is not { } head || _choiceTail is not { } tail || rest.Length < head.Length + tail.Length
                || !rest.StartsWith(head) || !rest.EndsWith(tail))
            {
                return false;
            }

            var value = rest[head.Length..^tail.Length];
            if (value.ContainsAny(NotPlain) || !System.Text.Unicode.Utf8.IsValid(value))
            {
                return false;
            }

            text = value.IsEmpty ? null : Encoding.UTF8.GetString(value);
            return true;
        }

        private ChatResponseUpdate Update(string? id, string? model, string? text, ChatFinishReason? finish, UsageDetails? usage)
        {
            var contents = new List<AIContent>(2);
            if (text is not null)
            {
                contents.Add(new TextContent(text));
            }

            if (finish is not null)
            {
                FlushCalls(contents);
            }

            if (usage is not null)
            {
                contents.Add(new UsageContent(usage));
            }

            return new ChatResponseUpdate(ChatRole.Assistant, contents) { ResponseId = id, ModelId = model, FinishReason = finish };
        }

        /// <summary>
        /// One pass over a chunk without tool calls or an error. False (and the chunk goes to <see cref="ReadDocument"/>)
        /// at anything else. Where a name repeats, the last one counts, as with <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/>.
        /// </summary>
        private bool TryReadPlainChunk(
            ReadOnlySpan<byte> data, out string? id, out string? model, out string? text, out ChatFinishReason? finish, out UsageDetails? usage)
        {
            (id, model, text, finish, usage) = (null, null, null, null, null);
            var reader = new Utf8JsonReader(data);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var seenChoicesOrUsage = false;
            var prefixLength = 0;
            (string? prefixId, string? prefixModel) = (null, null);

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    id = ReadString(ref reader, ref _id);
                }
                else if (reader.ValueTextEquals("model"u8))
                {
                    model = ReadString(ref reader, ref _model);
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (!seenChoicesOrUsage && reader.TokenType == JsonTokenType.StartArray)
                    {
                        prefixLength = (int)reader.TokenStartIndex;
                        (prefixId, prefixModel) = (id, model);
                    }

                    seenChoicesOrUsage = true;
                    (text, finish) = (null, null);
                    var content = (Start: -1, End: -1);
                    if (!TryReadChoices(ref reader, ref text, ref finish, ref content))
                    {
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    seenChoicesOrUsage = true;
                    reader.Read();
                    usage = ReadUsage(ref reader);
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    return false;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (prefixLength > 0 && (_prefix is null || !data.StartsWith(_prefix)))
            {
                (_prefix, _prefixId, _prefixModel) = (data[..prefixLength].ToArray(), prefixId, prefixModel);
            }

            return true;
        }

        /// <summary>The first choice's text and finish reason; false at tool calls or a choice that is not an object.</summary>
        /// <summary>Reads the first choice's text and finish reason; <paramref name="content"/> is where the text's string starts and ends (quotes included), or -1.</summary>
        private static bool TryReadChoices(ref Utf8JsonReader reader, ref string? text, ref ChatFinishReason? finish, ref (int Start, int End) content)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                return true;
            }

            reader.Read();
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return true;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    text = null;
                    content = (-1, -1);
                    if (!TryReadDelta(ref reader, ref text, ref content))
                    {
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("finish_reason"u8))
                {
                    string? reason = null;
                    finish = FinishReason(ReadString(ref reader, ref reason));
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // The other choices (n > 1) are not passed on.
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                reader.Skip();
            }

            return true;
        }

        private static bool TryReadDelta(ref Utf8JsonReader reader, ref string? text, ref (int Start, int End) content)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return true;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("content"u8))
                {
                    string? last = null;
                    text = ReadString(ref reader, ref last) is { Length: > 0 } value ? value : null;
                    content = text is not null ? ((int)reader.TokenStartIndex, (int)reader.BytesConsumed) : (-1, -1);
                }
                else if (reader.ValueTextEquals("tool_calls"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Null)
                    {
                        return false;
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return true;
        }

        private static UsageDetails? ReadUsage(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return null;
            }

            var usage = new UsageDetails();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("prompt_tokens"u8))
                {
                    usage.InputTokenCount = ReadLong(ref reader);
                }
                else if (reader.ValueTextEquals("completion_tokens"u8))
                {
                    usage.OutputTokenCount = ReadLong(ref reader);
                }
                else if (reader.ValueTextEquals("total_tokens"u8))
                {
                    usage.TotalTokenCount = ReadLong(ref reader);
                }
                else if (reader.ValueTextEquals("prompt_tokens_details"u8))
                {
                    reader.Read();
                    usage.CachedInputTokenCount = null;
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("cached_tokens"u8))
                        {
                            usage.CachedInputTokenCount = ReadLong(ref reader);
                        }
                        else
                        {
                            reader.Read();
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return usage;
        }

        private static long? ReadLong(ref Utf8JsonReader reader)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n))
            {
                return n;
            }

            reader.Skip();
            return null;
        }

        /// <summary>
        /// Moves to a property's value: a string (<paramref name="last"/> itself when it has the same text, so repeated
        /// values make no new string), or null for any other value, which is skipped.
        /// </summary>
        private static string? ReadString(ref Utf8JsonReader reader, ref string? last)
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
            {
                reader.Skip();
                return null;
            }

            return last is not null && reader.ValueTextEquals(last) ? last : last = reader.GetString()!;
        }

        /// <summary>Reads one <c>data:</c> payload through a <see cref="JsonDocument"/>: any chunk, tool calls and errors included.</summary>
        internal ChatResponseUpdate ReadDocument(ReadOnlySpan<byte> data)
        {
            var reader = new Utf8JsonReader(data);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("A stream chunk from the provider is not a JSON object.");
            }

            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                throw ProviderStreamException.From(error);
            }

            var contents = new List<AIContent>();
            ChatFinishReason? finish = null;
            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
            {
                var choice = choices[0];
                if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
                {
                    if (delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String && content.GetString() is { Length: > 0 } text)
                    {
                        contents.Add(new TextContent(text));
                    }

                    if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var call in calls.EnumerateArray())
                        {
                            Accumulate(call);
                        }
                    }
                }

                finish = FinishReason(choice);
            }

            if (finish is not null)
            {
                FlushCalls(contents);
            }

            if (root.TryGetProperty("usage", out var usage) && Usage(usage) is { } details)
            {
                contents.Add(new UsageContent(details));
            }

            // An update for every chunk, even one with nothing to show (a role, a tool-call fragment, reasoning
            // tokens): each one proves the provider is alive and restarts the gateway's idle timer.
            return new ChatResponseUpdate(ChatRole.Assistant, contents) { ResponseId = String(root, "id"), ModelId = String(root, "model"), FinishReason = finish };
        }

        /// <summary>Tool calls still open when the stream ended without a finish reason.</summary>
        public ChatResponseUpdate? Complete()
        {
            if (_calls.Count == 0)
            {
                return null;
            }

            var contents = new List<AIContent>();
            FlushCalls(contents);
            return new ChatResponseUpdate(ChatRole.Assistant, contents) { FinishReason = ChatFinishReason.ToolCalls };
        }

        private void Accumulate(JsonElement call)
        {
            var id = String(call, "id");
            var function = call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object ? f : default;
            var name = function.ValueKind == JsonValueKind.Object ? String(function, "name") : null;
            int index;
            if (call.TryGetProperty("index", out var i) && i.TryGetInt32(out var n))
            {
                index = n;
            }
            else
            {
                // Without an index, a fragment with a new id or name opens a call; anything else continues the last one.
                var last = _calls.Count == 0 ? -1 : _calls.Keys.Max();
                index = last < 0 || (id is { Length: > 0 } && id != _calls[last].Id) || (id is null && name is { Length: > 0 } && _calls[last].Name is not null)
                    ? last + 1
                    : last;
            }

            var entry = _calls.TryGetValue(index, out var existing) ? existing : (null, null, new StringBuilder());
            entry.Id ??= id;
            entry.Name ??= name;
            if (function.ValueKind == JsonValueKind.Object)
            {
                entry.Arguments.Append(String(function, "arguments"));
            }

            _calls[index] = entry;
        }

        private void FlushCalls(List<AIContent> contents)
        {
            foreach (var (_, (id, name, arguments)) in _calls)
            {
                // A call without a name cannot be answered by the client; OpenAI's own adapter drops it too.
                if (!string.IsNullOrWhiteSpace(name))
                {
                    contents.Add(FunctionCall(id ?? "", name, arguments.ToString()));
                }
            }

            _calls.Clear();
        }
    }

    private static FunctionCallContent FunctionCall(string id, string name, string? arguments)
    {
        IDictionary<string, object?>? parsed = null;
        Exception? error = null;
        if (!string.IsNullOrWhiteSpace(arguments))
        {
            try
            {
                parsed = JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments);
            }
            catch (JsonException ex)
            {
                error = ex;
            }
        }

        return new FunctionCallContent(id, name, parsed)
        {
            Exception = error,
            AdditionalProperties = new() { [RawArgumentsProperty] = string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments },
        };
    }

    /// <summary>The JSON of a call's arguments: as the provider sent them when known, else serialized.</summary>
    public static string ArgumentsJson(FunctionCallContent call) =>
        call.AdditionalProperties?.TryGetValue(RawArgumentsProperty, out var raw) == true && raw is string text
            ? text
            : call.Arguments is null ? "{}" : JsonSerializer.Serialize(call.Arguments, AIJsonUtilities.DefaultOptions);

    private static string ResultText(object? result) => result switch
    {
        null => "",
        string text => text,
        JsonElement element when element.ValueKind == JsonValueKind.String => element.GetString()!,
        JsonElement element => element.GetRawText(),
        _ => JsonSerializer.Serialize(result, AIJsonUtilities.DefaultOptions),
    };

    private static ChatFinishReason? FinishReason(JsonElement choice) =>
        choice.TryGetProperty("finish_reason", out var reason) && reason.ValueKind == JsonValueKind.String ? FinishReason(reason.GetString()) : null;

    private static ChatFinishReason? FinishReason(string? reason) => string.IsNullOrWhiteSpace(reason)
        ? null
        : reason switch
        {
            "stop" => ChatFinishReason.Stop,
            "length" => ChatFinishReason.Length,
            "tool_calls" or "function_call" => ChatFinishReason.ToolCalls,
            "content_filter" => ChatFinishReason.ContentFilter,
            _ => new ChatFinishReason(reason),
        };

    private static UsageDetails? Usage(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        return new UsageDetails
        {
            InputTokenCount = Long(usage, "prompt_tokens"),
            OutputTokenCount = Long(usage, "completion_tokens"),
            TotalTokenCount = Long(usage, "total_tokens"),
            CachedInputTokenCount = usage.TryGetProperty("prompt_tokens_details", out var details) && details.ValueKind == JsonValueKind.Object
                ? Long(details, "cached_tokens")
                : null,
        };
    }

    private static long? Long(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : null;

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
