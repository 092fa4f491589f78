using System.Text;
using DiffPlex;
using DiffPlex.Chunkers;

namespace Platform.Prompts;

public sealed record DiffLine(string Kind, string Text);

public sealed record MessageDiff(int Index, string? FromRole, string? ToRole, IReadOnlyList<DiffLine> Lines);

public sealed record FieldChange(string Field, string? From, string? To);

public sealed record PromptVersionDiff(
    string Prompt,
    int From,
    int To,
    IReadOnlyList<MessageDiff> Messages,
    IReadOnlyList<FieldChange> Parameters,
    IReadOnlyList<FieldChange> Variables)
{
    public bool IsEmpty => Messages.All(m => m.Lines.All(l => l.Kind == " ") && m.FromRole == m.ToRole) && Parameters.Count == 0 && Variables.Count == 0;
}

/// <summary>Messages line by line (DiffPlex), parameters and variables field by field; as JSON or unified text.</summary>
public static class PromptDiff
{
    public static PromptVersionDiff Compare(string prompt, int fromVersion, PromptContent? from, int toVersion, PromptContent to)
    {
        var messages = new List<MessageDiff>();
        var count = Math.Max(from?.Messages.Count ?? 0, to.Messages.Count);
        var room = MaxLines;
        for (var i = 0; i < count; i++)
        {
            var a = from is not null && i < from.Messages.Count ? from.Messages[i] : null;
            var b = i < to.Messages.Count ? to.Messages[i] : null;
            var lines = Lines(a?.Template ?? "", b?.Template ?? "");
            if (lines.Count > room)
            {
                // Each line costs a JSON object: a diff of one-character lines grew 23x; the answer stays bounded.
                var hidden = lines.Count - room;
                lines.RemoveRange(room, hidden);
                lines.Add(new DiffLine("~", $"({hidden} more lines not shown: a diff shows at most {MaxLines} lines)"));
            }

            room = Math.Max(0, room - lines.Count);
            messages.Add(new MessageDiff(i, a?.Role, b?.Role, lines));
        }

        var parameters = new List<FieldChange>();
        var fp = from?.Parameters ?? new PromptParameters();
        Field(parameters, "model", fp.Model, to.Parameters.Model);
        Field(parameters, "temperature", fp.Temperature?.ToString(System.Globalization.CultureInfo.InvariantCulture), to.Parameters.Temperature?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Field(parameters, "maxTokens", fp.MaxTokens?.ToString(System.Globalization.CultureInfo.InvariantCulture), to.Parameters.MaxTokens?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Field(parameters, "responseFormat", fp.ResponseFormat, to.Parameters.ResponseFormat);
        Field(parameters, "tools", fp.ToolsJson, to.Parameters.ToolsJson);

        var variables = new List<FieldChange>();
        var before = (from?.Variables ?? []).ToDictionary(v => v.Name, Describe, StringComparer.Ordinal);
        var after = to.Variables.ToDictionary(v => v.Name, Describe, StringComparer.Ordinal);
        foreach (var name in before.Keys.Union(after.Keys).Order(StringComparer.Ordinal))
        {
            Field(variables, name, before.GetValueOrDefault(name), after.GetValueOrDefault(name));
        }

        return new PromptVersionDiff(prompt, fromVersion, toVersion, messages, parameters, variables);
    }

    public static string Unified(PromptVersionDiff diff)
    {
        var text = new StringBuilder();
        text.Append("--- ").Append(diff.Prompt).Append('@').Append(diff.From).Append('\n');
        text.Append("+++ ").Append(diff.Prompt).Append('@').Append(diff.To).Append('\n');
        foreach (var message in diff.Messages.Where(m => m.FromRole != m.ToRole || m.Lines.Any(l => l.Kind != " ")))
        {
            text.Append("@@ messages[").Append(message.Index).Append("] ")
                .Append(message.FromRole ?? "(none)").Append(" -> ").Append(message.ToRole ?? "(none)").Append(" @@\n");
            foreach (var line in message.Lines)
            {
                text.Append(line.Kind).Append(line.Text).Append('\n');
            }
        }

        foreach (var (section, changes) in new[] { ("parameters", diff.Parameters), ("variables", diff.Variables) })
        {
            foreach (var change in changes)
            {
                text.Append("@@ ").Append(section).Append('.').Append(change.Field).Append(" @@\n");
                if (change.From is not null)
                {
                    text.Append('-').Append(change.From).Append('\n');
                }

                if (change.To is not null)
                {
                    text.Append('+').Append(change.To).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Most line pairs (lines of one side times lines of the other) diffed line by line. A minimal diff of two very
    /// different long texts costs time in proportion to that product (two 49,000-line messages took 4.6 s), so
    /// beyond it the diff keeps the common first and last lines and shows the middle as removed and added.
    /// </summary>
    public const long MaxLinePairs = 4_000_000;

    /// <summary>Most lines one diff shows, over all its messages; the rest are counted in a <c>~</c> line.</summary>
    public const int MaxLines = 20_000;

    private static List<DiffLine> Lines(string from, string to)
    {
        var oldLines = from.Split('\n');
        var newLines = to.Split('\n');
        if ((long)oldLines.Length * newLines.Length > MaxLinePairs)
        {
            return Coarse(oldLines, newLines);
        }

        var result = Differ.Instance.CreateDiffs(from, to, ignoreWhiteSpace: false, ignoreCase: false, LineChunker.Instance);
        var lines = new List<DiffLine>();
        var a = 0;
        foreach (var block in result.DiffBlocks)
        {
            for (; a < block.DeleteStartA; a++)
            {
                lines.Add(new DiffLine(" ", result.PiecesOld[a]));
            }

            for (var i = 0; i < block.DeleteCountA; i++)
            {
                lines.Add(new DiffLine("-", result.PiecesOld[block.DeleteStartA + i]));
            }

            for (var i = 0; i < block.InsertCountB; i++)
            {
                lines.Add(new DiffLine("+", result.PiecesNew[block.InsertStartB + i]));
            }

            a = block.DeleteStartA + block.DeleteCountA;
        }

        for (; a < result.PiecesOld.Count; a++)
        {
            lines.Add(new DiffLine(" ", result.PiecesOld[a]));
        }

        return lines;
    }

    private static List<DiffLine> Coarse(string[] oldLines, string[] newLines)
    {
        var head = 0;
        while (head < oldLines.Length && head < newLines.Length && oldLines[head] == newLines[head])
        {
            head++;
        }

        var tail = 0;
        while (tail < oldLines.Length - head && tail < newLines.Length - head && oldLines[^(tail + 1)] == newLines[^(tail + 1)])
        {
            tail++;
        }

        var lines = new List<DiffLine>(oldLines.Length + newLines.Length - head - tail);
        lines.AddRange(oldLines[..head].Select(l => new DiffLine(" ", l)));
        lines.AddRange(oldLines[head..^tail].Select(l => new DiffLine("-", l)));
        lines.AddRange(newLines[head..^tail].Select(l => new DiffLine("+", l)));
        lines.AddRange(oldLines[^tail..].Select(l => new DiffLine(" ", l)));
        return lines;
    }

    private static void Field(List<FieldChange> changes, string field, string? from, string? to)
    {
        if (!string.Equals(from, to, StringComparison.Ordinal))
        {
            changes.Add(new FieldChange(field, from, to));
        }
    }

    private static string Describe(PromptVariable v) =>
        $"{v.Type}{(v.Required ? ", required" : "")}{(v.DefaultJson is null ? "" : ", default " + v.DefaultJson)}";
}
