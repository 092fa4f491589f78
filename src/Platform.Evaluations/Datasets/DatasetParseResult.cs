namespace Platform.Evaluations.Datasets;

/// <summary>One refused line of an import: its physical line number (1-based) and what is wrong with it.</summary>
public sealed record DatasetLineError(int Line, string Message);

/// <summary>
/// What parsing an import produced: the valid items in order, the invalid lines (the first
/// <see cref="DatasetLimits.ListedErrors"/> listed, all counted), and a refusal of the whole body when there is one
/// (a bad CSV header, too many items, a body that is not UTF-8), which skipping bad lines cannot fix.
/// </summary>
public sealed record DatasetParseResult(
    string Format,
    IReadOnlyList<DatasetItem> Items,
    IReadOnlyList<DatasetLineError> Errors,
    int ErrorCount,
    DatasetLineError? Fatal)
{
    /// <summary>Whether the items may be imported: nothing fatal, at least one item, and every line valid unless bad lines are skipped.</summary>
    public bool IsAccepted(bool skipInvalid) => Fatal is null && Items.Count > 0 && (ErrorCount == 0 || skipInvalid);

    /// <summary>Why the import is refused, in the caller's words, or null when it is accepted.</summary>
    public string? Refusal(bool skipInvalid)
    {
        if (Fatal is { } fatal)
        {
            return fatal.Line > 0 ? $"Line {fatal.Line}: {fatal.Message} Nothing was imported." : $"{fatal.Message} Nothing was imported.";
        }

        if (ErrorCount > 0 && !skipInvalid)
        {
            var lines = ErrorCount == 1 ? "1 line is" : $"{ErrorCount} lines are";
            var first = Errors[0];
            return $"{lines} invalid (first: line {first.Line}: {first.Message}). Nothing was imported; fix the lines, or send skipInvalid=true to import the valid ones.";
        }

        return Items.Count == 0 ? "The body holds no valid item. Nothing was imported." : null;
    }
}
