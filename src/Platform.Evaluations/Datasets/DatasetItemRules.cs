using System.Text;

namespace Platform.Evaluations.Datasets;

/// <summary>An item as read from one line or record, before its bounds are checked and its id assigned.</summary>
internal sealed record RawDatasetItem(
    string? Id,
    Dictionary<string, string>? Input,
    List<DatasetMessage>? Messages,
    string? Expected,
    string? Context,
    List<string>? Tags,
    string? Split);

/// <summary>The bounds every item must keep, whatever format it came in (<see cref="DatasetLimits"/>).</summary>
public static class DatasetItemRules
{
    /// <summary>The first bound <paramref name="item"/> breaks, in the caller's words, or null.</summary>
    internal static string? Check(RawDatasetItem item)
    {
        if (item.Id is { } id && (id.Length == 0 || id.Length > DatasetLimits.MaxIdLength))
        {
            return $"id must be 1-{DatasetLimits.MaxIdLength} characters; it is {id.Length}.";
        }

        if (item.Input is null && item.Messages is null)
        {
            return "an item needs input (prompt variables) or messages (a chat), or both.";
        }

        if (item.Input is { } input)
        {
            if (input.Count > DatasetLimits.MaxInputVariables)
            {
                return $"input has {input.Count} variables; the limit is {DatasetLimits.MaxInputVariables}.";
            }

            foreach (var (name, value) in input)
            {
                if (name.Length is 0 or > DatasetLimits.MaxInputNameLength)
                {
                    return $"input variable names must be 1-{DatasetLimits.MaxInputNameLength} characters; '{Cut(name)}' is {name.Length}.";
                }

                if (TooLong(value, $"input.{name}") is { } error)
                {
                    return error;
                }
            }
        }

        if (item.Messages is { } messages)
        {
            if (messages.Count > DatasetLimits.MaxMessages)
            {
                return $"messages has {messages.Count} items; the limit is {DatasetLimits.MaxMessages}.";
            }

            for (var i = 0; i < messages.Count; i++)
            {
                if (!DatasetLimits.Roles.Contains(messages[i].Role))
                {
                    return $"messages[{i}].role must be system, user or assistant, not '{Cut(messages[i].Role)}'.";
                }

                if (TooLong(messages[i].Content, $"messages[{i}].content") is { } error)
                {
                    return error;
                }
            }
        }

        if ((TooLong(item.Expected, "expected") ?? TooLong(item.Context, "context")) is { } text)
        {
            return text;
        }

        if (item.Tags is { } tags)
        {
            if (tags.Count > DatasetLimits.MaxTags)
            {
                return $"tags has {tags.Count} tags; the limit is {DatasetLimits.MaxTags}.";
            }

            if (tags.FirstOrDefault(t => t.Length is 0 or > DatasetLimits.MaxTagLength) is { } tag)
            {
                return $"tags must be 1-{DatasetLimits.MaxTagLength} characters; '{Cut(tag)}' is {tag.Length}.";
            }
        }

        if (item.Split is { Length: 0 or > DatasetLimits.MaxTagLength } split)
        {
            return $"split must be 1-{DatasetLimits.MaxTagLength} characters; it is {split.Length}.";
        }

        if (Strings(item).FirstOrDefault(s => !IsWellFormed(s.Value)) is { Field: not null } broken)
        {
            return $"{broken.Field} holds an unpaired UTF-16 surrogate (\\uD800-\\uDFFF escape); send text as valid Unicode.";
        }

        var bytes = DatasetPaging.EstimateBytes(item.Id, item.Input, item.Messages, item.Expected, item.Context, item.Tags, item.Split);
        return bytes > DatasetLimits.MaxItemBytes
            ? $"the item is about {bytes} bytes stored; the limit for one item is {DatasetLimits.MaxItemBytes}."
            : null;
    }

    private static IEnumerable<(string Field, string Value)> Strings(RawDatasetItem item)
    {
        if (item.Id is not null)
        {
            yield return ("id", item.Id);
        }

        foreach (var (name, value) in item.Input ?? [])
        {
            yield return ("input", name);
            yield return ($"input.{Cut(name)}", value);
        }

        for (var i = 0; i < (item.Messages?.Count ?? 0); i++)
        {
            yield return ($"messages[{i}].content", item.Messages![i].Content);
        }

        foreach (var (field, value) in new[] { ("expected", item.Expected), ("context", item.Context), ("split", item.Split) })
        {
            if (value is not null)
            {
                yield return (field, value);
            }
        }

        foreach (var tag in item.Tags ?? [])
        {
            yield return ("tags", tag);
        }
    }

    /// <summary>False when <paramref name="value"/> has a surrogate without its pair (no UTF-8 encoding can store it).</summary>
    private static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string? TooLong(string? value, string field) =>
        value is { Length: > DatasetLimits.MaxTextLength }
            ? $"{field} is {value.Length} characters long; the limit is {DatasetLimits.MaxTextLength}."
            : null;

    /// <summary>A caller's value quoted in a message, cut to a readable length.</summary>
    internal static string Cut(string value)
    {
        var cut = value.Length <= 40 ? value : string.Concat(value.AsSpan(0, 39), "\u2026");
        var text = new StringBuilder(cut.Length);
        foreach (var c in cut)
        {
            text.Append(char.IsControl(c) ? ' ' : c);
        }

        return text.ToString();
    }
}
