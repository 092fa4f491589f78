using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Platform.Prompts;

/// <summary>One prompt as code: a YAML file.</summary>
public sealed record PromptFile(string Path, string Name, string CommitMessage, PromptContent Content);

/// <summary>
/// Parses prompt YAML files (one prompt per file). Unknown keys and malformed YAML are refused with the
/// file and line. Format:
/// <code>
/// name: greeting            # default: the file name without extension
/// message: why this version # commit message
/// messages:
///   - role: system
///     template: "You are {{ persona }}."
/// variables:
///   - { name: persona, type: string, required: true }
/// parameters: { model: sim-small, temperature: 0.2, maxTokens: 200 }
/// </code>
/// </summary>
public static class PromptFiles
{
    private static readonly IDeserializer Yaml = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build();

    public static PromptFile Parse(string path, string yaml)
    {
        Model model;
        try
        {
            RejectAliases(path, yaml);
            model = Yaml.Deserialize<Model>(yaml) ?? throw Invalid(path, "the file is empty");
        }
        catch (YamlException ex)
        {
            throw Invalid(path, $"line {ex.Start.Line}, column {ex.Start.Column}: {Describe(ex)}");
        }

        var name = model.Name ?? System.IO.Path.GetFileNameWithoutExtension(path);
        if (!PromptNames.IsValid(name))
        {
            throw Invalid(path, $"'{name}' is not a valid prompt name (lowercase letters, digits, '-', '_', '.').");
        }

        if (model.Messages is not { Count: > 0 })
        {
            throw Invalid(path, "messages must list at least one message");
        }

        var content = new PromptContent(
            [.. model.Messages.Select((m, i) => new PromptMessage(
                (m ?? throw Invalid(path, $"messages[{i}] must be a mapping with role and template")).Role
                    ?? throw Invalid(path, $"messages[{i}].role is required"),
                m.Template ?? throw Invalid(path, $"messages[{i}].template is required")))],
            [.. (model.Variables ?? []).Select((v, i) => new PromptVariable(
                (v ?? throw Invalid(path, $"variables[{i}] must be a mapping with a name")).Name ?? throw Invalid(path, "every variable needs a name"),
                v.Type ?? "string",
                v.Required,
                DefaultJson(path, v),
                v.Description))],
            new PromptParameters(
                model.Parameters?.Model,
                model.Parameters?.Temperature,
                model.Parameters?.MaxTokens,
                model.Parameters?.ResponseFormat));
        try
        {
            PromptTemplates.Validate(content);
        }
        catch (PlatformException ex)
        {
            throw Invalid(path, ex.Message);
        }

        return new PromptFile(path, name, model.Message ?? $"from {path}", content);
    }

    /// <summary>The parser's complaint in the file's terms: YamlDotNet's mapping errors name .NET types, which mean nothing to an author.</summary>
    private static string Describe(YamlException ex)
    {
        var message = (ex.InnerException ?? ex).Message;
        if (System.Text.RegularExpressions.Regex.Match(message, "^Property '(?<name>[^']*)' not found") is { Success: true } unknown)
        {
            return $"'{unknown.Groups["name"].Value}' is not a field of a prompt file";
        }

        return message.Contains("System.", StringComparison.Ordinal) || message.Contains("Platform.", StringComparison.Ordinal)
            || message.Contains("type '", StringComparison.Ordinal)
            ? "this value does not fit a prompt file (name, message, messages: [{role, template}], "
              + "variables: [{name, type, required, default, description}], parameters: {model, temperature, maxTokens, responseFormat})"
            : message;
    }

    /// <summary>Aliases can expand exponentially ("billion laughs"); prompt files have no use for them.</summary>
    private static void RejectAliases(string path, string yaml)
    {
        var parser = new YamlDotNet.Core.Parser(new StringReader(yaml));
        while (parser.MoveNext())
        {
            if (parser.Current is YamlDotNet.Core.Events.AnchorAlias alias)
            {
                throw Invalid(path, $"line {alias.Start.Line}: YAML aliases are not allowed in prompt files");
            }
        }
    }

    /// <summary>YAML scalars arrive as strings; the declared type says what JSON they stand for.</summary>
    private static string? DefaultJson(string path, VariableModel v)
    {
        try
        {
            return DefaultJsonCore(path, v);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or NotSupportedException)
        {
            throw Invalid(path, $"the default of variable '{v.Name}' cannot be used: it is not a valid {v.Type ?? "string"} value");
        }
    }

    private static string? DefaultJsonCore(string path, VariableModel v)
    {
        if (v.Default is null)
        {
            return null;
        }

        if (v.Default is not string text)
        {
            return JsonSerializer.Serialize(v.Default);
        }

        var culture = System.Globalization.CultureInfo.InvariantCulture;
        return v.Type switch
        {
            "integer" when long.TryParse(text, System.Globalization.NumberStyles.Integer, culture, out var i) => JsonSerializer.Serialize(i),
            "number" when double.TryParse(text, System.Globalization.NumberStyles.Float, culture, out var d) && double.IsFinite(d) => JsonSerializer.Serialize(d),
            "boolean" when bool.TryParse(text, out var b) => JsonSerializer.Serialize(b),
            "string" or null => JsonSerializer.Serialize(text),
            _ => throw Invalid(path, $"the default of variable '{v.Name}' is not a {v.Type}"),
        };
    }

    private static PlatformException Invalid(string path, string message) => new(ErrorKind.Invalid, $"{path}: {message}", "files", "invalid_prompt_file");

    private sealed class Model
    {
        public string? Name { get; set; }

        public string? Message { get; set; }

        public List<MessageModel>? Messages { get; set; }

        public List<VariableModel>? Variables { get; set; }

        public ParametersModel? Parameters { get; set; }
    }

    private sealed class MessageModel
    {
        public string? Role { get; set; }

        public string? Template { get; set; }
    }

    private sealed class VariableModel
    {
        public string? Name { get; set; }

        public string? Type { get; set; }

        public bool Required { get; set; }

        public object? Default { get; set; }

        public string? Description { get; set; }
    }

    private sealed class ParametersModel
    {
        public string? Model { get; set; }

        public double? Temperature { get; set; }

        public int? MaxTokens { get; set; }

        public string? ResponseFormat { get; set; }
    }
}
