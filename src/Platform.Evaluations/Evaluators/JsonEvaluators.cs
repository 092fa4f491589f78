using System.Text.Json;
using Json.Schema;
using Microsoft.Extensions.AI.Evaluation;

namespace Platform.Evaluations.Evaluators;

/// <summary>Parsing bounds shared by the JSON evaluators.</summary>
public static class JsonLimits
{
    /// <summary>Deepest nesting of an output (or a schema) the JSON evaluators accept.</summary>
    public const int MaxDepth = 64;

    /// <summary>Errors a json_schema reason lists.</summary>
    public const int MaxListedErrors = 5;

    public static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };

    /// <summary>
    /// Why an output cannot be JSON from its first character, or null when it might be: most outputs of a model asked for
    /// prose are rejected here without the parser's exception (which cost an eighth of a run's CPU in the benchmark).
    /// </summary>
    public static string? NotJsonStart(string output)
    {
        var text = output.AsSpan().TrimStart();
        if (text.IsEmpty)
        {
            return "the output is not valid JSON: it is empty";
        }

        return text[0] is '{' or '[' or '"' or '-' or (>= '0' and <= '9') or 't' or 'f' or 'n'
            ? null
            : $"the output is not valid JSON: it starts with '{text[0]}', which no JSON value does";
    }
}

/// <summary>valid_json: the whole output (surrounding whitespace aside) is one JSON document, nested at most 64 deep.</summary>
public sealed class ValidJsonEvaluator(EvaluatorSpec spec) : PlatformEvaluator(spec)
{
    protected override ValueTask<Score> ScoreAsync(EvaluationInput input, NumericMetric metric, CancellationToken cancellationToken)
    {
        if (input.OutputCut)
        {
            return ValueTask.FromResult(new Score(0, $"the output is longer than {EvaluatorLimits.MaxTextChars} characters"));
        }

        if (JsonLimits.NotJsonStart(input.Output) is { } notJson)
        {
            return ValueTask.FromResult(new Score(0, notJson));
        }

        try
        {
            using var document = JsonDocument.Parse(input.Output, JsonLimits.DocumentOptions);
            return ValueTask.FromResult(new Score(1, $"the output is valid JSON ({KindOf(document.RootElement)})"));
        }
        catch (JsonException e)
        {
            return ValueTask.FromResult(new Score(0, $"the output is not valid JSON: {e.Message}"));
        }
    }

    internal static string KindOf(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Null => "null",
        _ => "a boolean",
    };
}

/// <summary>
/// json_schema: the output is JSON and validates against the schema in <see cref="EvaluatorSpec.Value"/>
/// (JsonSchema.Net; draft 2020-12 unless the schema says otherwise). The reason lists the first errors.
/// The schema is built once, in its own registry, and never fetches remote references.
/// </summary>
public sealed class JsonSchemaEvaluator(EvaluatorSpec spec) : PlatformEvaluator(spec)
{
    private static readonly EvaluationOptions Options = new() { OutputFormat = OutputFormat.List };

    private readonly JsonSchema _schema = Parse(spec.Value ?? throw new ArgumentException("json_schema needs a value", nameof(spec)));

    /// <summary>Builds a schema from text; throws <see cref="JsonException"/> or <see cref="JsonSchemaException"/> when it is not one.</summary>
    public static JsonSchema Parse(string text)
    {
        // A registry of its own per schema: the global one would keep every schema ever built (and clash on $id).
        var build = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        return JsonSchema.FromText(text, build, null, JsonLimits.DocumentOptions);
    }

    /// <summary>Keywords whose values are instance data, not schemas (a "pattern" in them is not a regular expression).</summary>
    private static readonly HashSet<string> DataKeywords = new(StringComparer.Ordinal) { "enum", "const", "default", "examples" };

    /// <summary>Keywords whose object value maps names (property names, definition names) to schemas.</summary>
    private static readonly HashSet<string> NamedSchemas = new(StringComparer.Ordinal)
    {
        "properties", "$defs", "definitions", "dependentSchemas", "dependencies",
    };

    /// <summary>
    /// Where a schema holds a regular expression (a <c>pattern</c>, or a non-empty <c>patternProperties</c>), as a JSON
    /// pointer; null when it holds none. JsonSchema.Net runs these with backtracking and no match timeout, so one pattern
    /// such as <c>^(a+)+$</c> would hold a thread for hours on a short output: such schemas are refused.
    /// </summary>
    public static string? FindPattern(JsonElement schema) => FindPattern(schema, "", namesAreKeywords: true);

    private static string? FindPattern(JsonElement element, string pointer, bool namesAreKeywords)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in element.EnumerateArray())
            {
                if (FindPattern(item, $"{pointer}/{i++}", namesAreKeywords: true) is { } found)
                {
                    return found;
                }
            }

            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var property in element.EnumerateObject())
        {
            var at = pointer + "/" + property.Name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
            if (!namesAreKeywords)
            {
                if (FindPattern(property.Value, at, namesAreKeywords: true) is { } named)
                {
                    return named;
                }

                continue;
            }

            var value = property.Value;
            if ((property.Name == "pattern" && value.ValueKind == JsonValueKind.String)
                || (property.Name == "patternProperties" && value.ValueKind == JsonValueKind.Object && value.EnumerateObject().Any()))
            {
                return at;
            }

            if (!DataKeywords.Contains(property.Name)
                && FindPattern(value, at, namesAreKeywords: !NamedSchemas.Contains(property.Name)) is { } found)
            {
                return found;
            }
        }

        return null;
    }

    protected override ValueTask<Score> ScoreAsync(EvaluationInput input, NumericMetric metric, CancellationToken cancellationToken)
    {
        if (input.OutputCut)
        {
            return ValueTask.FromResult(new Score(0, $"the output is longer than {EvaluatorLimits.MaxTextChars} characters"));
        }

        if (JsonLimits.NotJsonStart(input.Output) is { } notJson)
        {
            return ValueTask.FromResult(new Score(0, notJson));
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(input.Output, JsonLimits.DocumentOptions);
        }
        catch (JsonException e)
        {
            return ValueTask.FromResult(new Score(0, $"the output is not valid JSON: {e.Message}"));
        }

        using (document)
        {
            EvaluationResults results;
            try
            {
                results = _schema.Evaluate(document.RootElement, Options);
            }
            catch (JsonSchemaException e)
            {
                return ValueTask.FromResult(Score.Missing($"the schema could not be applied: {e.Message}"));
            }

            if (results.IsValid)
            {
                return ValueTask.FromResult(new Score(1, "the output is valid JSON and matches the schema"));
            }

            var errors = new List<string>();
            var total = 0;
            foreach (var node in (results.Details ?? []).Prepend(results))
            {
                if (node.Errors is null)
                {
                    continue;
                }

                foreach (var (keyword, message) in node.Errors)
                {
                    total++;
                    if (errors.Count < JsonLimits.MaxListedErrors)
                    {
                        var at = node.InstanceLocation.ToString();
                        errors.Add($"{(at.Length == 0 ? "/" : at)}: {message} ({keyword})");
                    }
                }
            }

            var more = total > errors.Count ? $"; and {total - errors.Count} more" : "";
            var list = errors.Count == 0 ? "it does not match" : string.Join("; ", errors);
            return ValueTask.FromResult(new Score(0, $"the output does not match the schema: {list}{more}"));
        }
    }
}
