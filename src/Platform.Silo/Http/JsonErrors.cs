using System.Text.Json;
using System.Text.RegularExpressions;

namespace Platform.Silo.Http;

/// <summary>
/// Turns what System.Text.Json and parameter binding report into sentences in the caller's terms: the
/// field's path and the kind of value it takes, never a .NET type name or exception text.
/// </summary>
public static partial class JsonErrors
{
    /// <summary>The field path of a JSON error (<c>messages[2].role</c>), or null for the body itself.</summary>
    public static string? Field(JsonException exception) => Trim(exception.Path);

    public static string Describe(JsonException exception)
    {
        var message = exception.Message;
        var field = Field(exception);
        var at = field ?? "The request body";

        if (ConvertedTo().Match(message) is { Success: true } converted)
        {
            // A record bound through its constructor is named instead of the field's type ("an object"); then the reader's
            // own complaint (its inner exception) says what the field needed. A field's own type is said as before.
            var expected = Expected(converted.Groups["type"].Value);
            return $"{at} must be {(expected == "an object" ? FromReader(exception.InnerException) ?? expected : expected)}.";
        }

        if (Unmapped().Match(message) is { Success: true } unmapped)
        {
            var name = field is null ? unmapped.Groups["name"].Value : field;
            return $"{name} is not a field of this request.";
        }

        if (MissingRequired().Match(message) is { Success: true } missing)
        {
            var prefix = field is null ? "" : field + ".";
            var names = missing.Groups["names"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(n => prefix + n.Trim('\''));
            return $"{string.Join(", ", names)} is required.";
        }

        if (NullNotAllowed().Match(message) is { Success: true } nulled)
        {
            var name = field ?? nulled.Groups["name"].Value;
            return $"{name} must not be null.";
        }

        if (message.Contains("does not contain any JSON tokens", StringComparison.Ordinal))
        {
            return "The request body is empty: send a JSON object.";
        }

        if (exception.LineNumber is { } line && exception.BytePositionInLine is { } position)
        {
            return $"The request body is not valid JSON (line {line + 1}, position {position + 1}): {ReaderProblem(message)}";
        }

        return $"{at} has a value of the wrong kind.";
    }

    /// <summary>Parameter binding failures (<c>ThrowOnBadRequest</c>): which parameter, and what was wrong with it.</summary>
    public static (string Message, string? Field) DescribeBinding(BadHttpRequestException exception)
    {
        var message = exception.Message;
        var parameter = Parameter().Match(message);
        var name = parameter.Success ? parameter.Groups["name"].Value : null;
        var type = parameter.Success ? parameter.Groups["type"].Value : null;
        if (exception.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return ("The request body must be JSON, sent with 'Content-Type: application/json'.", null);
        }

        if (message.Contains("body", StringComparison.OrdinalIgnoreCase) && (message.StartsWith("Required", StringComparison.Ordinal)
            || message.StartsWith("Implicit body", StringComparison.Ordinal)))
        {
            return ("The request body is required: send a JSON object.", null);
        }

        if (name is not null && message.StartsWith("Required parameter", StringComparison.Ordinal))
        {
            return ($"{name} is required.", name);
        }

        if (name is not null && message.StartsWith("Failed to bind parameter", StringComparison.Ordinal))
        {
            return ($"{name} must be {Expected(type!)}.", name);
        }

        return ("The request is not valid.", name);
    }

    private static string? Trim(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return null;
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    /// <summary>What the reader wanted, from the exception it threw reading the value (null when it does not say).</summary>
    private static string? FromReader(Exception? inner) => inner switch
    {
        InvalidOperationException { Message: var m } when m.Contains("surrogate", StringComparison.Ordinal) =>
            "valid Unicode text (it holds an unpaired \\uD800-\\uDFFF escape)",
        InvalidOperationException { Message: var m } when m.EndsWith(" as a string.", StringComparison.Ordinal) => "a string",
        InvalidOperationException { Message: var m } when m.EndsWith(" as a number.", StringComparison.Ordinal) => "a number",
        InvalidOperationException { Message: var m } when m.EndsWith(" as a boolean.", StringComparison.Ordinal) => "true or false",
        FormatException { Message: var m } when m.Contains("for an Int", StringComparison.Ordinal) || m.Contains("for an UInt", StringComparison.Ordinal) =>
            "an integer (within range)",
        _ => null,
    };

    /// <summary>The kind of JSON value a .NET type takes, in words.</summary>
    private static string Expected(string typeName)
    {
        var name = typeName.Trim();
        if (NullableOf().Match(name) is { Success: true } inner)
        {
            name = inner.Groups["inner"].Value;
        }

        if (name.StartsWith("Nullable<", StringComparison.Ordinal) && name.EndsWith('>'))
        {
            name = name["Nullable<".Length..^1];
        }

        name = name.TrimEnd('?');
        return name switch
        {
            "System.String" or "string" => "a string",
            "System.Int32" or "int" or "System.Int64" or "long" or "System.Int16" or "System.UInt32" or "System.UInt64" or "System.Byte"
                => "an integer",
            "System.Double" or "double" or "System.Single" or "float" or "System.Decimal" or "decimal" => "a number",
            "System.Boolean" or "bool" => "true or false",
            "System.DateTimeOffset" or "DateTimeOffset" or "System.DateTime" or "DateTime" => "a date and time (ISO 8601, e.g. 2026-01-31T12:00:00Z)",
            "System.TimeSpan" or "TimeSpan" => "a duration (hh:mm:ss)",
            "System.Guid" or "Guid" => "a UUID",
            _ when name.EndsWith("[]", StringComparison.Ordinal) || name.Contains("List`", StringComparison.Ordinal)
                || name.Contains("Enumerable`", StringComparison.Ordinal) || name.Contains("Collection`", StringComparison.Ordinal)
                || name.Contains("Set`", StringComparison.Ordinal) => "an array",
            _ when EnumNames(name) is { } names => $"one of: {names}",
            _ => "an object",
        };
    }

    private static string? EnumNames(string typeName)
    {
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (assembly.GetType(typeName, throwOnError: false) is { IsEnum: true } type)
            {
                return string.Join(", ", Enum.GetNames(type).Select(JsonNamingPolicy.CamelCase.ConvertName));
            }
        }

        return null;
    }

    /// <summary>The reader's own sentence, without the location suffix (given separately) or type names.</summary>
    private static string ReaderProblem(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        var text = cut > 0 ? message[..cut] : message;
        cut = text.IndexOf(" LineNumber:", StringComparison.Ordinal);
        text = cut > 0 ? text[..cut] : text;
        return text.Contains("System.", StringComparison.Ordinal) || text.Contains("Platform.", StringComparison.Ordinal)
            ? "unexpected content."
            : text.Trim();
    }

    [GeneratedRegex(@"could not be converted to (?<type>[^ ]+?)\.?( Path:|$)")]
    private static partial Regex ConvertedTo();

    [GeneratedRegex(@"The JSON property '(?<name>[^']*)' could not be mapped")]
    private static partial Regex Unmapped();

    [GeneratedRegex(@"missing required properties including: (?<names>.*?)\.?( Path:|$)")]
    private static partial Regex MissingRequired();

    [GeneratedRegex(@"(property or field|constructor parameter) '(?<name>[^']*)' on type '[^']*' doesn't allow")]
    private static partial Regex NullNotAllowed();

    [GeneratedRegex(@"parameter ""(?<type>[^ ""]+) (?<name>[^""]+)""")]
    private static partial Regex Parameter();

    [GeneratedRegex(@"^System\.Nullable`1\[\[?(?<inner>[^,\]]+)")]
    private static partial Regex NullableOf();
}
