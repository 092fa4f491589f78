using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Fluid;
using Fluid.Values;
using Microsoft.Extensions.FileProviders;

namespace Platform.Prompts;

/// <summary>A rendered chat message.</summary>
public readonly record struct RenderedMessage(string Role, string Content);

/// <summary>A version compiled once (versions are immutable), ready to render many times.</summary>
public sealed class CompiledPrompt
{
    internal CompiledPrompt(
        PromptVersion version,
        IFluidTemplate[] templates,
        Dictionary<string, (PromptVariable Variable, FluidValue? Default)> variables,
        PlatformException? refusal)
    {
        Version = version;
        Templates = templates;
        Variables = variables;
        Refusal = refusal;
    }

    public PromptVersion Version { get; }

    internal IFluidTemplate[] Templates { get; }

    internal Dictionary<string, (PromptVariable Variable, FluidValue? Default)> Variables { get; }

    /// <summary>Set for a version stored before today's limits that no longer passes them: every render is refused with it.</summary>
    internal PlatformException? Refusal { get; }
}

/// <summary>
/// Liquid templates (Fluid) in a sandbox: no file system (includes fail), no member access on .NET objects
/// (variables are converted to plain Liquid values), a shape checked before parsing (nesting, filter chains,
/// literal ranges), and a budget of time and characters that every filter, range, assign, loop and write answers
/// to. Rendering checks the variables against the version's schema. Every limit reached is a 400.
/// </summary>
public static class PromptTemplates
{
    public const int MaxSteps = 100_000;
    public const int MaxOutputChars = 256 * 1024;

    /// <summary>Blocks (if, for, case...) inside each other: Fluid's parser recurses once per level.</summary>
    public const int MaxNestingDepth = 32;

    /// <summary>Brackets and parentheses inside each other within one tag or output.</summary>
    public const int MaxExpressionDepth = 16;

    /// <summary>Filters chained in one expression, and separately <c>and</c>/<c>or</c> conditions in one tag.</summary>
    public const int MaxFilterChain = 50;

    /// <summary>Depth of the parsed tree (blocks, conditions, filters together), the backstop of the limits above.</summary>
    public const int MaxTreeDepth = 256;

    /// <summary>Ranges are materialised as arrays by Fluid, so a huge range would allocate before any step limit applies.</summary>
    public const int MaxRangeLength = 10_000;

    /// <summary>Longest string any filter, assign or variable may hold.</summary>
    public const int MaxValueChars = MaxOutputChars;

    /// <summary>Most items in a list a filter builds or a variable holds.</summary>
    public const int MaxArrayLength = 10_000;

    /// <summary>Characters one render may build in all (variables, filter results, ranges, output): about 4 MB.</summary>
    public const int MaxRenderChars = 2 * 1024 * 1024;

    /// <summary>Largest width, precision or alignment in a <c>date</c>, <c>format_number</c> or <c>format_string</c> format.</summary>
    public const int MaxFormatWidth = 100;

    /// <summary>Wall-clock budget of one render (all messages).</summary>
    public static readonly TimeSpan MaxRenderTime = TimeSpan.FromMilliseconds(250);

    public static readonly IReadOnlyList<string> VariableTypes = ["string", "number", "integer", "boolean", "list", "object"];
    public static readonly IReadOnlyList<string> Roles = ["system", "developer", "user", "assistant"];

    private static readonly TemplateShape.GuardedParser Parser = new();

    private static readonly TemplateOptions Options = CreateOptions();

    /// <summary>Checks content at version creation: roles, variable declarations and template syntax (with line and column).</summary>
    public static void Validate(PromptContent content)
    {
        if (content.Messages.Count is 0 or > 50)
        {
            throw Invalid("messages must hold 1 to 50 messages.", "messages");
        }

        ValidateParameters(content.Parameters);

        for (var i = 0; i < content.Messages.Count; i++)
        {
            var message = content.Messages[i];
            if (!Roles.Contains(message.Role))
            {
                throw Invalid($"messages[{i}].role must be one of: {string.Join(", ", Roles)}.", $"messages[{i}].role");
            }

            if (message.Template is null || message.Template.Length > 100_000)
            {
                throw Invalid($"messages[{i}].template must be a string of at most 100000 characters.", $"messages[{i}].template");
            }

            _ = Parse(message.Template, i);
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < content.Variables.Count; i++)
        {
            var variable = content.Variables[i];
            if (string.IsNullOrWhiteSpace(variable.Name) || !variable.Name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') || !names.Add(variable.Name))
            {
                throw Invalid($"variables[{i}].name must be a unique identifier (letters, digits, '_').", $"variables[{i}].name");
            }

            if (!VariableTypes.Contains(variable.Type))
            {
                throw Invalid($"variables[{i}].type must be one of: {string.Join(", ", VariableTypes)}.", $"variables[{i}].type");
            }

            if (variable.DefaultJson is not null)
            {
                try
                {
                    using var doc = JsonDocument.Parse(variable.DefaultJson);
                    CheckType(variable, doc.RootElement);
                    _ = ToFluid(doc.RootElement, variable.Name, budget: null);
                }
                catch (JsonException)
                {
                    throw Invalid($"variables[{i}].default is not valid JSON.", $"variables[{i}].default");
                }
            }
        }
    }

    /// <summary>
    /// Checks one template's shape, parses it and checks the tree; refusals name the field. The shape is checked
    /// before Fluid parses anything, so a template nested thousands deep is refused instead of overflowing the stack.
    /// </summary>
    private static IFluidTemplate Parse(string template, int index)
    {
        var field = $"messages[{index}].template";
        if (TemplateShape.Problem(template) is { } shape)
        {
            throw Invalid($"{field} cannot be saved: {shape}", field);
        }

        if (!Parser.TryParse(template, out var parsed, out var error))
        {
            throw Invalid($"{field} has a syntax error: {error}", field);
        }

        var checks = new TemplateShape.Checks();
        checks.VisitTemplate(parsed);
        return checks.Problem is { } problem ? throw Invalid($"{field} cannot be saved: {problem}", field) : parsed;
    }

    /// <summary>Compiles a stored version; one that no longer passes the checks compiles to a version whose every render is a 400.</summary>
    public static CompiledPrompt Compile(PromptVersion version)
    {
        var templates = new IFluidTemplate[version.Content.Messages.Count];
        PlatformException? refusal = null;
        for (var i = 0; i < templates.Length; i++)
        {
            try
            {
                templates[i] = new BoundsRewriter().VisitTemplate(Parse(version.Content.Messages[i].Template, i));
            }
            catch (PlatformException ex)
            {
                // The version is at fault, not the caller: its deployment arm counts the failure.
                refusal ??= new PlatformException(ErrorKind.Invalid, ex.Message, ex.Field, ErrorCodes.PromptRenderFailed);
            }
        }

        var variables = new Dictionary<string, (PromptVariable, FluidValue?)>(StringComparer.Ordinal);
        foreach (var variable in version.Content.Variables)
        {
            FluidValue? fallback = null;
            if (variable.DefaultJson is not null)
            {
                using var doc = JsonDocument.Parse(variable.DefaultJson);
                fallback = ToFluid(doc.RootElement, variable.Name, budget: null);
            }

            variables[variable.Name] = (variable, fallback);
        }

        return new CompiledPrompt(version, templates, variables, refusal);
    }

    /// <summary>Renders every message; refuses missing required variables, wrong types and unknown names (400 naming the variable).</summary>
    public static RenderedMessage[] Render(CompiledPrompt prompt, IReadOnlyDictionary<string, JsonElement>? variables)
    {
        if (prompt.Refusal is { } refusal)
        {
            throw refusal;
        }

        var budget = new RenderBudget(Stopwatch.GetTimestamp());
        var context = new RenderContext(Options, budget);
        if (variables is not null)
        {
            foreach (var (name, value) in variables)
            {
                if (!prompt.Variables.TryGetValue(name, out var declared))
                {
                    throw Invalid($"Variable '{name}' is not declared by {prompt.Version.Prompt} version {prompt.Version.Version}.", $"variables.{name}");
                }

                CheckType(declared.Variable, value);
                context.SetValue(name, ToFluid(value, name, budget));
            }
        }

        foreach (var (name, (variable, fallback)) in prompt.Variables)
        {
            if (variables is null || !variables.ContainsKey(name))
            {
                if (fallback is not null)
                {
                    context.SetValue(name, fallback);
                }
                else if (variable.Required)
                {
                    throw Invalid($"Variable '{name}' ({variable.Type}) is required.", $"variables.{name}");
                }
            }
        }

        var messages = new RenderedMessage[prompt.Templates.Length];
        var writer = new BoundedWriter(MaxOutputChars, budget);
        for (var i = 0; i < messages.Length; i++)
        {
            writer.Start();
            try
            {
                var pending = prompt.Templates[i].RenderAsync(writer, NullEncoder.Default, context);
                if (!pending.IsCompletedSuccessfully)
                {
                    // Only async filters suspend; the built-in ones complete synchronously.
                    pending.AsTask().GetAwaiter().GetResult();
                }
            }
            catch (Exception ex) when (ex is not PlatformException)
            {
                // Fluid's step and recursion limits, our range, length and time limits, and runtime errors of the
                // template itself (a division by zero, an overflow): the version or the variables are at fault.
                throw new PlatformException(ErrorKind.Invalid, $"Rendering message {i} failed: {RenderFailure(ex)}", $"messages[{i}]", ErrorCodes.PromptRenderFailed);
            }

            messages[i] = new RenderedMessage(prompt.Version.Content.Messages[i].Role, writer.Take());
        }

        return messages;
    }

    private static void CheckType(PromptVariable variable, JsonElement value)
    {
        var ok = variable.Type switch
        {
            "string" => value.ValueKind == JsonValueKind.String,
            "number" => value.ValueKind == JsonValueKind.Number,
            "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
            "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
            "list" => value.ValueKind == JsonValueKind.Array,
            "object" => value.ValueKind == JsonValueKind.Object,
            _ => false,
        };
        if (!ok)
        {
            throw Invalid($"Variable '{variable.Name}' must be of type {variable.Type} (got {value.ValueKind.ToString().ToLowerInvariant()}).", $"variables.{variable.Name}");
        }
    }

    /// <summary>
    /// JSON to plain Liquid values: no .NET object ever reaches the template, so there is nothing to reflect on.
    /// Lists are capped and everything converted is charged to the render, naming the variable when too large.
    /// </summary>
    private static FluidValue ToFluid(JsonElement value, string name, RenderBudget? budget)
    {
        try
        {
            return Convert(value, name, budget);
        }
        catch (TemplateLimitException)
        {
            throw Invalid($"Variable '{name}' is too large: a render may build at most {MaxRenderChars} characters.", $"variables.{name}");
        }

        static FluidValue Convert(JsonElement value, string name, RenderBudget? budget)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.String:
                    var text = value.GetString()!;
                    budget?.Charge(text.Length);
                    return new StringValue(text);
                case JsonValueKind.Number:
                    return value.TryGetDecimal(out var number)
                        ? NumberValue.Create(number)
                        : throw Invalid("A number is outside the range templates can use (about ±7.9e28).", "variables");
                case JsonValueKind.True:
                    return BooleanValue.True;
                case JsonValueKind.False:
                    return BooleanValue.False;
                case JsonValueKind.Array:
                    var length = value.GetArrayLength();
                    if (length > MaxArrayLength)
                    {
                        throw Invalid($"Variable '{name}' holds a list of {length} items; the limit is {MaxArrayLength}.", $"variables.{name}");
                    }

                    budget?.Charge((long)length * RenderBudget.ElementChars);
                    var items = new FluidValue[length];
                    var i = 0;
                    foreach (var item in value.EnumerateArray())
                    {
                        items[i++] = Convert(item, name, budget);
                    }

                    return new ArrayValue(items);
                case JsonValueKind.Object:
                    var properties = new Dictionary<string, FluidValue>(StringComparer.Ordinal);
                    foreach (var property in value.EnumerateObject())
                    {
                        budget?.Charge(property.Name.Length + RenderBudget.ElementChars);
                        properties[property.Name] = Convert(property.Value, name, budget);
                    }

                    return new DictionaryValue(new FluidValueDictionaryFluidIndexable(properties));
                default:
                    return NilValue.Instance;
            }
        }
    }

    private static TemplateOptions CreateOptions()
    {
        var options = new TemplateOptions
        {
            MaxSteps = MaxSteps,
            MaxRecursion = 50,
            FileProvider = new NullFileProvider(),
            CultureInfo = CultureInfo.InvariantCulture,
            Trimming = TrimmingFlags.None,
        };
        BoundedFilters.Apply(options.Filters);
        return options;
    }

    /// <summary>
    /// The parameters a version hands to every request it serves are held to the same rules as a request's own
    /// (a version must not smuggle past <c>/v1</c> what a caller could not send).
    /// </summary>
    private static void ValidateParameters(PromptParameters parameters)
    {
        if (parameters.Temperature is { } t && (double.IsNaN(t) || t is < 0 or > 2))
        {
            throw Invalid("parameters.temperature must be between 0 and 2.", "parameters.temperature");
        }

        if (parameters.MaxTokens is <= 0)
        {
            throw Invalid("parameters.maxTokens must be a positive integer.", "parameters.maxTokens");
        }

        if (parameters.ResponseFormat is not (null or "text" or "json_object"))
        {
            throw Invalid("parameters.responseFormat must be 'text' or 'json_object'.", "parameters.responseFormat");
        }

        if (parameters.ToolsJson is { } tools)
        {
            try
            {
                using var doc = JsonDocument.Parse(tools);
                if (doc.RootElement.ValueKind is not (JsonValueKind.Array or JsonValueKind.Null))
                {
                    throw Invalid("parameters.tools must be an array of tools.", "parameters.tools");
                }

                var i = 0;
                foreach (var tool in doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray() : default)
                {
                    // The shape /v1 accepts for a request's own tools.
                    if (tool.ValueKind != JsonValueKind.Object
                        || !tool.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function"
                        || !tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object
                        || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString()!.Length == 0
                        || (function.TryGetProperty("parameters", out var schema) && schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null)))
                    {
                        throw Invalid($"parameters.tools[{i}] must be a function tool with a name (and an object schema).", $"parameters.tools[{i}]");
                    }

                    i++;
                }
            }
            catch (JsonException)
            {
                throw Invalid("parameters.tools must be an array of tools.", "parameters.tools");
            }
        }
    }

    /// <summary>Why a render failed, in the template author's terms (never an exception's own text, which may name .NET types).</summary>
    private static string RenderFailure(Exception ex) => ex switch
    {
        TemplateLimitException limit => limit.Message,
        DivideByZeroException => "the template divides by zero.",
        OverflowException or ArithmeticException => "a number in the template is out of range.",
        InvalidOperationException when ex.Message.Contains("statements", StringComparison.OrdinalIgnoreCase)
            => $"the template took more than {MaxSteps} steps.",
        InvalidOperationException when ex.Message.Contains("recursion", StringComparison.OrdinalIgnoreCase) => "the template recursed too deeply.",
        _ => "the template failed at render time.",
    };

    private static PlatformException Invalid(string message, string field) => new(ErrorKind.Invalid, message, field, "invalid_prompt");
}
