using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Fluid;
using Fluid.Ast;
using Fluid.Values;
using Microsoft.Extensions.FileProviders;

namespace Platform.Prompts;

/// <summary>A rendered chat message.</summary>
public readonly record struct RenderedMessage(string Role, string Content);

/// <summary>A version compiled once (versions are immutable), ready to render many times.</summary>
public sealed class CompiledPrompt
{
    internal CompiledPrompt(PromptVersion version, IFluidTemplate[] templates, Dictionary<string, (PromptVariable Variable, FluidValue? Default)> variables)
    {
        Version = version;
        Templates = templates;
        Variables = variables;
    }

    public PromptVersion Version { get; }

    internal IFluidTemplate[] Templates { get; }

    internal Dictionary<string, (PromptVariable Variable, FluidValue? Default)> Variables { get; }
}

/// <summary>
/// Liquid templates (Fluid) in a sandbox: no file system (includes fail), no member access on .NET objects
/// (variables are converted to plain Liquid values), a step limit against unbounded loops, and an output
/// size limit. Rendering checks the variables against the version's schema.
/// </summary>
public static class PromptTemplates
{
    public const int MaxSteps = 100_000;
    public const int MaxOutputChars = 256 * 1024;
    public static readonly IReadOnlyList<string> VariableTypes = ["string", "number", "integer", "boolean", "list", "object"];
    public static readonly IReadOnlyList<string> Roles = ["system", "developer", "user", "assistant"];

    private static readonly FluidParser Parser = new(new FluidParserOptions { AllowFunctions = false });

    private static readonly TemplateOptions Options = CreateOptions();

    /// <summary>Checks content at version creation: roles, variable declarations and template syntax (with line and column).</summary>
    public static void Validate(PromptContent content)
    {
        if (content.Messages.Count is 0 or > 50)
        {
            throw Invalid("messages must hold 1 to 50 messages.", "messages");
        }

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

            if (!Parser.TryParse(message.Template, out var parsed, out var error))
            {
                throw Invalid($"messages[{i}].template has a syntax error: {error}", $"messages[{i}].template");
            }

            var forbidden = new ForbiddenTags();
            forbidden.VisitTemplate(parsed);
            if (forbidden.Found is { } tag)
            {
                throw Invalid($"messages[{i}].template uses '{tag}', which prompt templates do not allow (no files, no unbounded buffers).", $"messages[{i}].template");
            }
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
                    _ = ToFluid(doc.RootElement);
                }
                catch (JsonException)
                {
                    throw Invalid($"variables[{i}].default is not valid JSON.", $"variables[{i}].default");
                }
            }
        }
    }

    public static CompiledPrompt Compile(PromptVersion version)
    {
        var templates = new IFluidTemplate[version.Content.Messages.Count];
        for (var i = 0; i < templates.Length; i++)
        {
            templates[i] = new Bounds().VisitTemplate(Parser.Parse(version.Content.Messages[i].Template));
        }

        var variables = new Dictionary<string, (PromptVariable, FluidValue?)>(StringComparer.Ordinal);
        foreach (var variable in version.Content.Variables)
        {
            FluidValue? fallback = null;
            if (variable.DefaultJson is not null)
            {
                using var doc = JsonDocument.Parse(variable.DefaultJson);
                fallback = ToFluid(doc.RootElement);
            }

            variables[variable.Name] = (variable, fallback);
        }

        return new CompiledPrompt(version, templates, variables);
    }

    /// <summary>Renders every message; refuses missing required variables, wrong types and unknown names (400 naming the variable).</summary>
    public static RenderedMessage[] Render(CompiledPrompt prompt, IReadOnlyDictionary<string, JsonElement>? variables)
    {
        var context = new TemplateContext(Options);
        if (variables is not null)
        {
            foreach (var (name, value) in variables)
            {
                if (!prompt.Variables.TryGetValue(name, out var declared))
                {
                    throw Invalid($"Variable '{name}' is not declared by {prompt.Version.Prompt} version {prompt.Version.Version}.", $"variables.{name}");
                }

                CheckType(declared.Variable, value);
                context.SetValue(name, ToFluid(value));
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
        var budget = new BoundedWriter(MaxOutputChars, Stopwatch.GetTimestamp());
        context.AmbientValues[DeadlineKey] = budget;
        for (var i = 0; i < messages.Length; i++)
        {
            budget.Start();
            try
            {
                var pending = prompt.Templates[i].RenderAsync(budget, NullEncoder.Default, context);
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
                throw Invalid($"Rendering message {i} failed: {ex.Message}", $"messages[{i}]");
            }

            messages[i] = new RenderedMessage(prompt.Version.Content.Messages[i].Role, budget.Take());
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

    /// <summary>JSON to plain Liquid values: no .NET object ever reaches the template, so there is nothing to reflect on.</summary>
    private static FluidValue ToFluid(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => new StringValue(value.GetString()),
        JsonValueKind.Number => value.TryGetDecimal(out var number)
            ? NumberValue.Create(number)
            : throw Invalid("A number is outside the range templates can use (about ±7.9e28).", "variables"),
        JsonValueKind.True => BooleanValue.True,
        JsonValueKind.False => BooleanValue.False,
        JsonValueKind.Array => new ArrayValue(value.EnumerateArray().Select(ToFluid).ToArray()),
        JsonValueKind.Object => new DictionaryValue(new FluidValueDictionaryFluidIndexable(
            value.EnumerateObject().ToDictionary(p => p.Name, p => ToFluid(p.Value), StringComparer.Ordinal))),
        _ => NilValue.Instance,
    };

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
        return options;
    }

    /// <summary>Ranges are materialised as arrays by Fluid, so a huge range would allocate before any step limit applies.</summary>
    public const int MaxRangeLength = 10_000;

    /// <summary>Longest string an <c>assign</c> may hold: without it, a loop of self-appends doubles memory per step.</summary>
    public const int MaxAssignedChars = MaxOutputChars;

    /// <summary>Wall-clock budget of one render (all messages).</summary>
    public static readonly TimeSpan MaxRenderTime = TimeSpan.FromMilliseconds(250);

    private const string DeadlineKey = "platform.render-budget";

    private sealed class Bounds : AstRewriter
    {
        protected override Expression VisitRangeExpression(RangeExpression rangeExpression) => new BoundedRangeExpression(rangeExpression);

        protected override Statement VisitAssignStatement(AssignStatement assignStatement) =>
            new AssignStatement(assignStatement.Identifier, new BoundedValueExpression(assignStatement.Value));
    }

    /// <summary>Refuses, at version creation, tags that read files or buffer without bound.</summary>
    private sealed class ForbiddenTags : AstVisitor
    {
        public string? Found { get; private set; }

        protected override Statement VisitIncludeStatement(IncludeStatement includeStatement)
        {
            Found ??= "include";
            return includeStatement;
        }

        protected override Statement VisitRenderStatement(RenderStatement renderStatement)
        {
            Found ??= "render";
            return renderStatement;
        }

        protected override Statement VisitCaptureStatement(CaptureStatement captureStatement)
        {
            Found ??= "capture";
            return captureStatement;
        }
    }

    /// <summary>Checks an assigned value's length and the render's time budget.</summary>
    private sealed class BoundedValueExpression(Expression inner) : Expression
    {
        public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
        {
            var value = await inner.EvaluateAsync(context);
            if (value is StringValue && value.ToStringValue().Length > MaxAssignedChars)
            {
                throw new InvalidOperationException($"an assigned string exceeded {MaxAssignedChars} characters.");
            }

            if (context.AmbientValues.TryGetValue(DeadlineKey, out var budget) && budget is BoundedWriter writer)
            {
                writer.CheckTime();
            }

            return value;
        }
    }

    private sealed class BoundedRangeExpression(RangeExpression inner) : Expression
    {
        public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
        {
            var from = (await inner.From.EvaluateAsync(context)).ToNumberValue();
            var to = (await inner.To.EvaluateAsync(context)).ToNumberValue();
            if (Math.Abs(from) > int.MaxValue || Math.Abs(to) > int.MaxValue || Math.Abs(to - from) >= MaxRangeLength)
            {
                throw new InvalidOperationException($"a range may hold at most {MaxRangeLength} numbers.");
            }

            return await inner.EvaluateAsync(context);
        }
    }

    private static PlatformException Invalid(string message, string field) => new(ErrorKind.Invalid, message, field, "invalid_prompt");

    /// <summary>Collects one message's output and refuses to grow past the limit.</summary>
    private sealed class BoundedWriter(int limit, long startedAt) : TextWriter
    {
        private readonly StringBuilder _builder = new();

        public void CheckTime()
        {
            if (Stopwatch.GetElapsedTime(startedAt) > MaxRenderTime)
            {
                throw new InvalidOperationException($"the render took longer than {MaxRenderTime.TotalMilliseconds:F0} ms.");
            }
        }

        public override Encoding Encoding => Encoding.UTF8;

        public void Start() => _builder.Clear();

        public string Take() => _builder.ToString();

        public override void Write(char value)
        {
            Check(1);
            _builder.Append(value);
        }

        public override void Write(string? value)
        {
            Check(value?.Length ?? 0);
            _builder.Append(value);
        }

        public override void Write(char[] buffer, int index, int count)
        {
            Check(count);
            _builder.Append(buffer, index, count);
        }

        public override void Write(ReadOnlySpan<char> buffer)
        {
            Check(buffer.Length);
            _builder.Append(buffer);
        }

        // TextWriter's default async writes hop to the thread pool; Fluid renders through them.
        public override Task WriteAsync(char value)
        {
            Write(value);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(string? value)
        {
            Write(value);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(char[] buffer, int index, int count)
        {
            Write(buffer, index, count);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return Task.CompletedTask;
        }

        private void Check(int more)
        {
            CheckTime();
            if (_builder.Length + more > limit)
            {
                throw Invalid($"A rendered message exceeded {limit} characters.", "variables");
            }
        }
    }
}
