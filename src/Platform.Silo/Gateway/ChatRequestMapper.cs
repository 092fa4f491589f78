using System.Text.Json;
using Microsoft.Extensions.AI;
using Platform.Providers.OpenAi;

namespace Platform.Silo.Gateway;

/// <summary>What the gateway executes: the route name, the Microsoft.Extensions.AI messages and options, and how to answer.</summary>
public sealed record GatewayRequest(
    string Model,
    IReadOnlyList<ChatMessage> Messages,
    ChatOptions Options,
    bool Stream,
    bool IncludeUsage,
    string? User,
    Platform.Silo.Prompts.PromptReference? Prompt = null);

/// <summary>
/// Validates an OpenAI chat request and maps it onto Microsoft.Extensions.AI types. Every refusal is a
/// 400 naming the offending parameter, raised before anything is sent upstream.
/// </summary>
public static class ChatRequestMapper
{
    /// <summary>Longest <c>user</c>, <c>safety_identifier</c> or <c>prompt_cache_key</c>.</summary>
    public const int MaxIdentifierLength = 256;

    public static GatewayRequest Map(ChatCompletionRequest request)
    {
        // With a prompt, the model may come from the prompt version and the messages may all be the prompt's.
        var prompt = request.Prompt is { } p
            ? new Platform.Silo.Prompts.PromptReference(
                string.IsNullOrWhiteSpace(p.Name) ? throw Invalid("prompt.name is required", "prompt.name") : p.Name,
                p.Version,
                p.Label,
                p.Variables)
            : null;
        if (string.IsNullOrWhiteSpace(request.Model) && prompt is null)
        {
            throw Invalid("you must provide a model parameter", "model");
        }

        var wire = request.Messages ?? [];
        if (wire.Count == 0 && prompt is null)
        {
            throw Invalid("messages must be a non-empty array", "messages");
        }

        if (request.User is { Length: > MaxIdentifierLength })
        {
            throw Invalid($"user must be at most {MaxIdentifierLength} characters", "user");
        }

        if (request.N is { } n && n != 1)
        {
            throw Invalid("only n=1 is supported", "n");
        }

        var messages = new List<ChatMessage>(wire.Count);
        for (var i = 0; i < wire.Count; i++)
        {
            messages.Add(MapMessage(wire[i], i));
        }

        var options = new ChatOptions
        {
            Temperature = Range(request.Temperature, 0, 2, "temperature"),
            TopP = Range(request.TopP, 0, 1, "top_p"),
            FrequencyPenalty = Range(request.FrequencyPenalty, -2, 2, "frequency_penalty"),
            PresencePenalty = Range(request.PresencePenalty, -2, 2, "presence_penalty"),
            MaxOutputTokens = Positive(request.MaxCompletionTokens ?? request.MaxTokens, request.MaxCompletionTokens is null ? "max_tokens" : "max_completion_tokens"),
            Seed = request.Seed,
            StopSequences = MapStop(request.Stop),
            ResponseFormat = MapResponseFormat(request.ResponseFormat),
            Tools = MapTools(request.Tools),
            ToolMode = MapToolChoice(request.ToolChoice),
        };
        if (options.MaxOutputTokens is not null)
        {
            // Forwarded under the name the caller used: servers differ in which one they know.
            (options.AdditionalProperties ??= [])[OpenAiWire.MaxTokensFieldProperty] = request.MaxCompletionTokens is null ? "max_tokens" : "max_completion_tokens";
        }

        if (request.Other is { Count: > 0 } other && other.Keys.Any(OpenAiWire.PassThroughFields.Contains))
        {
            foreach (var field in OpenAiWire.TenantScopedFields)
            {
                if (other.TryGetValue(field, out var value) && (value.ValueKind != JsonValueKind.String || value.GetString()!.Length is 0 or > MaxIdentifierLength))
                {
                    throw Invalid($"{field} must be a string of 1 to {MaxIdentifierLength} characters", field);
                }
            }

            // Parameters the gateway does not interpret (parallel_tool_calls, reasoning_effort, logprobs, ...) go upstream as sent.
            (options.AdditionalProperties ??= [])[OpenAiWire.PassThroughProperty] = (IReadOnlyDictionary<string, JsonElement>)other;
        }

        return new GatewayRequest(
            request.Model ?? "",
            messages,
            options,
            request.Stream ?? false,
            request.StreamOptions?.IncludeUsage ?? false,
            request.User,
            prompt);
    }

    private static ChatMessage MapMessage(WireMessage? message, int index)
    {
        var at = $"messages[{index}]";
        if (message is null)
        {
            throw Invalid($"{at} must be an object with a role", at);
        }

        var role = message.Role switch
        {
            "system" or "developer" => ChatRole.System,
            "user" => ChatRole.User,
            "assistant" => ChatRole.Assistant,
            "tool" => ChatRole.Tool,
            null => throw Invalid($"{at}.role is required", $"{at}.role"),
            var other => throw Invalid($"'{other}' is not one of ['system', 'developer', 'user', 'assistant', 'tool']", $"{at}.role"),
        };

        var contents = new List<AIContent>();
        if (role == ChatRole.Tool)
        {
            if (string.IsNullOrEmpty(message.ToolCallId))
            {
                throw Invalid($"{at}.tool_call_id is required for tool messages", $"{at}.tool_call_id");
            }

            contents.Add(new FunctionResultContent(message.ToolCallId, ContentText(message.Content, at)));
        }
        else
        {
            AddContent(contents, message.Content, at, allowEmpty: role == ChatRole.Assistant && message.ToolCalls is { Count: > 0 });
        }

        if (message.ToolCalls is { Count: > 0 } calls)
        {
            if (role != ChatRole.Assistant)
            {
                throw Invalid($"{at}.tool_calls is only allowed on assistant messages", $"{at}.tool_calls");
            }

            for (var j = 0; j < calls.Count; j++)
            {
                var call = calls[j];
                if (call is null || string.IsNullOrEmpty(call.Id) || string.IsNullOrEmpty(call.Function?.Name))
                {
                    throw Invalid($"{at}.tool_calls[{j}] needs an id and a function name", $"{at}.tool_calls[{j}]");
                }

                contents.Add(new FunctionCallContent(call.Id, call.Function.Name, ParseArguments(call.Function.Arguments, $"{at}.tool_calls[{j}].function.arguments"))
                {
                    // Sent upstream as the client wrote it: the model sees its own text again (and prompt caches still match).
                    AdditionalProperties = new() { [OpenAiWire.RawArgumentsProperty] = string.IsNullOrWhiteSpace(call.Function.Arguments) ? "{}" : call.Function.Arguments },
                });
            }
        }

        return new ChatMessage(role, contents) { AuthorName = message.Name };
    }

    private static void AddContent(List<AIContent> contents, JsonElement content, string at, bool allowEmpty)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                contents.Add(new TextContent(content.GetString()));
                return;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var part in content.EnumerateArray())
                {
                    contents.Add(MapPart(part, $"{at}.content[{i++}]"));
                }

                if (i == 0 && !allowEmpty)
                {
                    throw Invalid($"{at}.content must not be empty", $"{at}.content");
                }

                return;
            case JsonValueKind.Null or JsonValueKind.Undefined when allowEmpty:
                return;
            case JsonValueKind.Null or JsonValueKind.Undefined:
                throw Invalid($"{at}.content is required", $"{at}.content");
            default:
                throw Invalid($"{at}.content must be a string or an array of content parts", $"{at}.content");
        }
    }

    private static AIContent MapPart(JsonElement part, string at)
    {
        if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            throw Invalid($"{at} must be an object with a type", at);
        }

        switch (type.GetString())
        {
            case "text" when part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String:
                return new TextContent(text.GetString());
            case "image_url" when part.TryGetProperty("image_url", out var image)
                && image.ValueKind == JsonValueKind.Object
                && image.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String
                && Uri.TryCreate(url.GetString(), UriKind.Absolute, out var uri):
                return uri.Scheme == "data" ? new DataContent(uri.OriginalString) : new UriContent(uri, "image/*");
            default:
                throw Invalid($"{at} has an unsupported or incomplete content part", at);
        }
    }

    private static string ContentText(JsonElement content, string at)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        var parts = new List<AIContent>();
        AddContent(parts, content, at, allowEmpty: false);
        return string.Concat(parts.OfType<TextContent>().Select(t => t.Text));
    }

    private static Dictionary<string, object?>? ParseArguments(string? arguments, string at)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments);
        }
        catch (JsonException)
        {
            throw Invalid($"{at} must be a JSON object", at);
        }
    }

    private static List<string>? MapStop(JsonElement stop) => stop.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => null,
        JsonValueKind.String => [stop.GetString()!],
        JsonValueKind.Array when stop.GetArrayLength() <= 4 && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String)
            => [.. stop.EnumerateArray().Select(s => s.GetString()!)],
        _ => throw Invalid("stop must be a string or an array of up to 4 strings", "stop"),
    };

    private static ChatResponseFormat? MapResponseFormat(JsonElement format)
    {
        if (format.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }

        var type = format.ValueKind == JsonValueKind.Object && format.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        switch (type)
        {
            case "text":
                return ChatResponseFormat.Text;
            case "json_object":
                return ChatResponseFormat.Json;
            case "json_schema" when format.TryGetProperty("json_schema", out var js) && js.ValueKind == JsonValueKind.Object
                && js.TryGetProperty("schema", out var schema) && schema.ValueKind == JsonValueKind.Object:
                return ChatResponseFormat.ForJsonSchema(
                    schema.Clone(),
                    js.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null,
                    js.TryGetProperty("description", out var description) && description.ValueKind == JsonValueKind.String ? description.GetString() : null);
            default:
                throw Invalid("response_format.type must be 'text', 'json_object' or 'json_schema' (with json_schema.schema)", "response_format");
        }
    }

    private static List<AITool>? MapTools(List<WireTool>? tools)
    {
        if (tools is null)
        {
            return null;
        }

        var mapped = new List<AITool>(tools.Count);
        for (var i = 0; i < tools.Count; i++)
        {
            var tool = tools[i];
            if (tool is null || tool.Type != "function" || string.IsNullOrWhiteSpace(tool.Function?.Name))
            {
                throw Invalid($"tools[{i}] must be a function with a name", $"tools[{i}]");
            }

            var schema = tool.Function.Parameters.ValueKind == JsonValueKind.Object
                ? tool.Function.Parameters.Clone()
                : JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;
            mapped.Add(AIFunctionFactory.CreateDeclaration(tool.Function.Name, tool.Function.Description, schema));
        }

        return mapped;
    }

    private static ChatToolMode? MapToolChoice(JsonElement choice) => choice.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => null,
        JsonValueKind.String => choice.GetString() switch
        {
            "auto" => ChatToolMode.Auto,
            "none" => ChatToolMode.None,
            "required" => ChatToolMode.RequireAny,
            _ => throw Invalid("tool_choice must be 'auto', 'none', 'required' or a function", "tool_choice"),
        },
        JsonValueKind.Object when choice.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
            && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
            => ChatToolMode.RequireSpecific(n.GetString()!),
        _ => throw Invalid("tool_choice must be 'auto', 'none', 'required' or a function", "tool_choice"),
    };

    private static float? Range(double? value, double min, double max, string param) =>
        value is null ? null
        : value < min || value > max ? throw Invalid($"{param} must be between {min} and {max}", param)
        : (float)value.Value;

    private static int? Positive(int? value, string param) =>
        value is <= 0 ? throw Invalid($"{param} must be a positive integer", param) : value;

    private static PlatformException Invalid(string message, string param) => new(ErrorKind.Invalid, message, param, "invalid_value");
}
