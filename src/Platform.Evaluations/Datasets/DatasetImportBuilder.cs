namespace Platform.Evaluations.Datasets;

/// <summary>
/// Collects the items of one import in order, whatever the format: checks each item's bounds, names items without an
/// id <c>item-{n}</c> (n = the item's position), refuses an id used twice (naming both lines), and counts the bad lines.
/// </summary>
internal sealed class DatasetImportBuilder(string format)
{
    private readonly List<DatasetItem> _items = [];
    private readonly Dictionary<string, int> _idLines = new(StringComparer.Ordinal);
    private readonly List<DatasetLineError> _errors = [];
    private int _errorCount;

    public DatasetLineError? Fatal { get; private set; }

    /// <summary>Whether parsing must stop (something refuses the whole body).</summary>
    public bool Stopped => Fatal is not null;

    public void Add(int line, RawDatasetItem raw)
    {
        if (DatasetItemRules.Check(raw) is { } problem)
        {
            Reject(line, problem);
            return;
        }

        var id = raw.Id ?? $"item-{_items.Count + 1}";
        if (_idLines.TryGetValue(id, out var first))
        {
            Reject(line, raw.Id is null
                ? $"the generated id '{id}' is already the id of the item on line {first}; give this item an id."
                : $"id '{DatasetItemRules.Cut(id)}' is already used on line {first}.");
            return;
        }

        if (_items.Count == DatasetLimits.MaxItems)
        {
            Fatal = new DatasetLineError(line, $"A dataset version holds at most {DatasetLimits.MaxItems} items; this body has more.");
            return;
        }

        _idLines[id] = line;
        _items.Add(new DatasetItem(id, raw.Input, raw.Messages, raw.Expected, raw.Context, raw.Tags ?? [], raw.Split));
    }

    public void Reject(int line, string message)
    {
        _errorCount++;
        if (_errors.Count < DatasetLimits.ListedErrors)
        {
            _errors.Add(new DatasetLineError(line, message));
        }
    }

    /// <summary>Refuses the whole body (<paramref name="line"/> 0 when no line is to blame).</summary>
    public void Stop(int line, string message) => Fatal ??= new DatasetLineError(line, message);

    public DatasetParseResult Build() => new(format, _items, _errors, _errorCount, Fatal);
}
