using System.Text;
using System.Text.Json;
using CsvHelper;

namespace Platform.Evaluations.Datasets;

/// <summary>
/// CSV datasets (RFC 4180, parsed by CsvHelper): a header row, then one item per record. Columns <c>id</c>,
/// <c>expected</c>, <c>context</c>, <c>split</c>, <c>tags</c> (separated by <c>;</c>) and <c>messages</c> (a JSON array
/// of <c>{role, content}</c>); every other column is an input variable (an <c>input.</c> prefix is optional). An empty
/// cell is an absent value. Errors name the physical line a record starts on, so quoted newlines do not shift them.
/// </summary>
public static class DatasetCsv
{
    private const string InputPrefix = "input.";
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "id", "expected", "context", "split", "tags", "messages" };

    public static async Task<DatasetParseResult> ParseAsync(TextReader reader, CancellationToken cancellationToken = default)
    {
        var builder = new DatasetImportBuilder(DatasetFormats.Csv);
        var options = new CsvReaderOptions
        {
            Separator = ',',
            HasHeader = true,
            AllowLineBreaksInQuotes = true,
            SkipEmptyLines = true,
            TrackLineNumbers = true,
            DetectSeparatorHint = false,
            IncludeValuesInExceptions = false,
            MalformedData = CsvMalformedDataHandling.Skip,
            FieldCountMismatch = CsvFieldCountHandling.Skip,
            OnMalformedRecord = record => builder.Reject((int)record.LineNumber, Describe(record)),

            // A record longer than one item may be is refused, rather than buffering the rest of the body (an unclosed quote).
            MaxRecordSize = 4 * DatasetLimits.MaxItemBytes,
        };

        await using var csv = CsvReader.Create(reader, options, leaveOpen: true);
        Header? header = null;
        try
        {
            await csv.ReadHeaderAsync(cancellationToken);
            header = ReadHeader(csv.Headers, builder);
            while (header is not null && !builder.Stopped && await csv.ReadAsync(cancellationToken))
            {
                var line = (int)csv.LineNumber;
                var (item, error) = ReadItem(header, csv);
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
        catch (CsvFormatException ex)
        {
            builder.Stop((int)ex.LineNumber, $"a record is longer than {options.MaxRecordSize} bytes (is a quote left open?).");
        }
        catch (DecoderFallbackException)
        {
            builder.Stop(0, "The body is not valid UTF-8.");
        }

        return builder.Build();
    }

    private static string Describe(CsvMalformedRecord record) => record.Reason switch
    {
        CsvMalformedReason.FieldCountMismatch => "the record does not have as many fields as the header.",
        CsvMalformedReason.UnterminatedQuote => "a quoted field is never closed.",
        CsvMalformedReason.StrayQuote => "a quote inside an unquoted field (quote the whole field and double the quote).",
        CsvMalformedReason.TextAfterClosingQuote => "text after a closing quote (quote the whole field and double inner quotes).",
        _ => "the record's quoting is malformed.",
    };

    private sealed record Header(string[] Columns, string?[] InputNames);

    private static Header? ReadHeader(IReadOnlyList<string> record, DatasetImportBuilder builder)
    {
        const int line = 1;
        if (record.Count == 0)
        {
            builder.Stop(0, "The CSV body is empty: send a header row, then one row per item.");
            return null;
        }

        var columns = record.Select((c, i) => i == 0 ? c.TrimStart('\uFEFF') : c).Select(c => c.Trim()).ToArray();
        var inputs = new string?[columns.Length];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < columns.Length; i++)
        {
            var name = columns[i];
            var variable = name.StartsWith(InputPrefix, StringComparison.Ordinal) ? name[InputPrefix.Length..] : Reserved.Contains(name) ? null : name;
            if (name.Length == 0 || variable is { Length: 0 })
            {
                builder.Stop(line, $"header column {i + 1} has no name.");
                return null;
            }

            if (variable is { Length: > DatasetLimits.MaxInputNameLength })
            {
                builder.Stop(line, $"input variable names must be 1-{DatasetLimits.MaxInputNameLength} characters; column {i + 1} is {variable.Length}.");
                return null;
            }

            if (!seen.Add(variable ?? name))
            {
                builder.Stop(line, $"column '{DatasetItemRules.Cut(variable ?? name)}' appears twice in the header.");
                return null;
            }

            inputs[i] = variable;
        }

        var count = inputs.Count(v => v is not null);
        if (count > DatasetLimits.MaxInputVariables)
        {
            builder.Stop(line, $"the header has {count} input columns; the limit is {DatasetLimits.MaxInputVariables}.");
            return null;
        }

        return new Header(columns, inputs);
    }

    private static (RawDatasetItem?, string?) ReadItem(Header header, CsvReader csv)
    {
        string? id = null, expected = null, context = null, split = null;
        Dictionary<string, string>? input = header.InputNames.Any(n => n is not null) ? new(StringComparer.Ordinal) : null;
        List<DatasetMessage>? messages = null;
        List<string>? tags = null;
        for (var i = 0; i < header.Columns.Length; i++)
        {
            var value = csv.GetString(i);
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            if (header.InputNames[i] is { } variable)
            {
                input![variable] = value;
                continue;
            }

            switch (header.Columns[i])
            {
                case "id":
                    id = value;
                    break;
                case "expected":
                    expected = value;
                    break;
                case "context":
                    context = value;
                    break;
                case "split":
                    split = value;
                    break;
                case "tags":
                    tags = [.. value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];
                    break;
                case "messages":
                    var (parsed, error) = ReadMessages(value);
                    if (error is not null)
                    {
                        return (null, error);
                    }

                    messages = parsed;
                    break;
            }
        }

        return (new RawDatasetItem(id, input, messages, expected, context, tags, split), null);
    }

    private static (List<DatasetMessage>?, string?) ReadMessages(string value)
    {
        try
        {
            using var document = JsonDocument.Parse(value, new JsonDocumentOptions { MaxDepth = DatasetLimits.MaxJsonDepth });
            return DatasetJsonLines.ReadMessages(document.RootElement, "messages");
        }
        catch (JsonException)
        {
            return (null, "messages must be a JSON array of {\"role\", \"content\"} objects; the cell is not valid JSON.");
        }
    }
}
