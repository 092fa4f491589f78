using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Platform.Evaluations.Datasets;

/// <summary>
/// JSON Lines datasets: one object per line, <c>{"id", "input": {name: value}, "messages": [{"role", "content"}],
/// "expected", "context", "tags": [..], "split"}</c>, every field optional except that an item needs input or messages.
/// Input values that are numbers or booleans become their JSON text. Blank lines, a BOM and CRLF are fine.
/// </summary>
public static class DatasetJsonLines
{
    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = DatasetLimits.MaxJsonDepth };
    private static readonly JsonWriterOptions WriteOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private const string Fields = "id, input, messages, expected, context, tags, split";

    public static async Task<DatasetParseResult> ParseAsync(TextReader reader, CancellationToken cancellationToken = default)
    {
        var builder = new DatasetImportBuilder(DatasetFormats.JsonLines);
        var line = 0;
        try
        {
            while (!builder.Stopped && await reader.ReadLineAsync(cancellationToken) is { } text)
            {
                line++;
                if (line == 1 && text.StartsWith('\uFEFF'))
                {
                    text = text[1..];
                }

                if (string.IsNullOrWhiteSpace(text))
                {
                    continue;
                }

                var (item, error) = ParseLine(text);
                if (error is not null)
                {
                    builder.Reject(line, error);
                }
                else
                {
                    builder.Add(line, item!);
                }
            }
        }
        catch (DecoderFallbackException)
        {
            builder.Stop(line + 1, "The body is not valid UTF-8.");
        }

        return builder.Build();
    }

    private static (RawDatasetItem? Item, string? Error) ParseLine(string text)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, ParseOptions);
        }
        catch (JsonException ex)
        {
            var at = ex.BytePositionInLine is { } position ? $" (at character {position + 1})" : "";
            return (null, $"not valid JSON{at}: {ReaderProblem(ex.Message)}");
        }

        using (document)
        {
            try
            {
                return document.RootElement.ValueKind == JsonValueKind.Object
                    ? ReadItem(document.RootElement)
                    : (null, $"each line must be a JSON object, not {Kind(document.RootElement)}.");
            }
            catch (InvalidOperationException)
            {
                // The only string JSON can hold and .NET cannot read: an escaped surrogate without its pair.
                return (null, "a string holds an unpaired UTF-16 surrogate (\\uD800-\\uDFFF escape); send text as valid Unicode.");
            }
        }
    }

    private static (RawDatasetItem? Item, string? Error) ReadItem(JsonElement root)
    {
        string? id = null, expected = null, context = null, split = null;
        Dictionary<string, string>? input = null;
        List<DatasetMessage>? messages = null;
        List<string>? tags = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                return (null, $"field '{DatasetItemRules.Cut(property.Name)}' appears twice.");
            }

            var value = property.Value;
            if (value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            string? error = null;
            switch (property.Name)
            {
                case "id":
                    id = value.ValueKind switch
                    {
                        JsonValueKind.String => value.GetString(),
                        JsonValueKind.Number => value.GetRawText(),
                        _ => null,
                    };
                    error = id is null ? $"id must be a string, not {Kind(value)}." : null;
                    break;
                case "input":
                    (input, error) = ReadInput(value);
                    break;
                case "messages":
                    (messages, error) = ReadMessages(value, "messages");
                    break;
                case "expected":
                    (expected, error) = ReadString(value, "expected");
                    break;
                case "context":
                    (context, error) = ReadString(value, "context");
                    break;
                case "split":
                    (split, error) = ReadString(value, "split");
                    break;
                case "tags":
                    (tags, error) = ReadTags(value);
                    break;
                default:
                    error = $"'{DatasetItemRules.Cut(property.Name)}' is not a field of a dataset item (fields: {Fields}).";
                    break;
            }

            if (error is not null)
            {
                return (null, error);
            }
        }

        return (new RawDatasetItem(id, input, messages, expected, context, tags, split), null);
    }

    private static (Dictionary<string, string>?, string?) ReadInput(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return (null, $"input must be an object of variable values, not {Kind(value)}.");
        }

        var input = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in value.EnumerateObject())
        {
            var text = variable.Value.ValueKind switch
            {
                JsonValueKind.String => variable.Value.GetString(),
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => variable.Value.GetRawText(),
                _ => null,
            };
            if (text is null)
            {
                return (null, $"input.{DatasetItemRules.Cut(variable.Name)} must be a string, number or boolean, not {Kind(variable.Value)}.");
            }

            if (!input.TryAdd(variable.Name, text))
            {
                return (null, $"input.{DatasetItemRules.Cut(variable.Name)} appears twice.");
            }

            if (input.Count > DatasetLimits.MaxInputVariables)
            {
                return (null, $"input has more than {DatasetLimits.MaxInputVariables} variables.");
            }
        }

        return (input, null);
    }

    /// <summary>A JSON array of <c>{role, content}</c> (also the CSV <c>messages</c> column).</summary>
    internal static (List<DatasetMessage>?, string?) ReadMessages(JsonElement value, string field)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            return (null, $"{field} must be an array of {{role, content}}, not {Kind(value)}.");
        }

        if (value.GetArrayLength() > DatasetLimits.MaxMessages)
        {
            return (null, $"{field} has {value.GetArrayLength()} items; the limit is {DatasetLimits.MaxMessages}.");
        }

        var messages = new List<DatasetMessage>(value.GetArrayLength());
        var i = 0;
        foreach (var message in value.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object)
            {
                return (null, $"{field}[{i}] must be an object {{role, content}}, not {Kind(message)}.");
            }

            string? role = null, content = null;
            foreach (var property in message.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "role" when property.Value.ValueKind == JsonValueKind.String:
                        role = property.Value.GetString();
                        break;
                    case "content" when property.Value.ValueKind == JsonValueKind.String:
                        content = property.Value.GetString();
                        break;
                    case "role" or "content":
                        return (null, $"{field}[{i}].{property.Name} must be a string, not {Kind(property.Value)}.");
                    default:
                        return (null, $"{field}[{i}]: '{DatasetItemRules.Cut(property.Name)}' is not a field of a message (fields: role, content).");
                }
            }

            if (role is null || content is null)
            {
                return (null, $"{field}[{i}] needs both role and content.");
            }

            messages.Add(new DatasetMessage(role, content));
            i++;
        }

        return (messages, null);
    }

    private static (string?, string?) ReadString(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.String ? (value.GetString(), null) : (null, $"{field} must be a string, not {Kind(value)}.");

    private static (List<string>?, string?) ReadTags(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            return (null, $"tags must be an array of strings, not {Kind(value)}.");
        }

        if (value.GetArrayLength() > DatasetLimits.MaxTags)
        {
            return (null, $"tags has {value.GetArrayLength()} tags; the limit is {DatasetLimits.MaxTags}.");
        }

        var tags = new List<string>(value.GetArrayLength());
        foreach (var tag in value.EnumerateArray())
        {
            if (tag.ValueKind != JsonValueKind.String)
            {
                return (null, $"tags must be an array of strings; tags[{tags.Count}] is {Kind(tag)}.");
            }

            tags.Add(tag.GetString()!);
        }

        return (tags, null);
    }

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    /// <summary>The reader's own sentence, without its location suffix (given separately) or any type name.</summary>
    private static string ReaderProblem(string message)
    {
        foreach (var marker in new[] { " LineNumber:", " Path:" })
        {
            var cut = message.IndexOf(marker, StringComparison.Ordinal);
            message = cut > 0 ? message[..cut] : message;
        }

        return message.Contains("System.", StringComparison.Ordinal) ? "unexpected content." : message.Trim();
    }

    /// <summary>Writes one item as one JSON line (with its trailing newline), fields in the import order, nulls left out.</summary>
    public static void Write(IBufferWriter<byte> output, DatasetItem item)
    {
        using (var json = new Utf8JsonWriter(output, WriteOptions))
        {
            json.WriteStartObject();
            json.WriteString("id", item.Id);
            if (item.Input is { } input)
            {
                json.WriteStartObject("input");
                foreach (var (name, value) in input)
                {
                    json.WriteString(name, value);
                }

                json.WriteEndObject();
            }

            if (item.Messages is { } messages)
            {
                json.WriteStartArray("messages");
                foreach (var message in messages)
                {
                    json.WriteStartObject();
                    json.WriteString("role", message.Role);
                    json.WriteString("content", message.Content);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            WriteIfSet(json, "expected", item.Expected);
            WriteIfSet(json, "context", item.Context);
            if (item.Tags.Count > 0)
            {
                json.WriteStartArray("tags");
                foreach (var tag in item.Tags)
                {
                    json.WriteStringValue(tag);
                }

                json.WriteEndArray();
            }

            WriteIfSet(json, "split", item.Split);
            json.WriteEndObject();
        }

        output.Write("\n"u8);
    }

    /// <summary>The items as JSON Lines text.</summary>
    public static string ToText(IEnumerable<DatasetItem> items)
    {
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var item in items)
        {
            Write(buffer, item);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteIfSet(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}
