using System.Diagnostics;
using System.Text;
using System.Text.Encodings.Web;
using Fluid;
using Fluid.Ast;
using Fluid.Values;

namespace Platform.Prompts;

/// <summary>A limit of the render sandbox was reached; the render fails with a 400 that names the message.</summary>
internal sealed class TemplateLimitException(string message) : Exception(message);

/// <summary>
/// What one render (all of a version's messages) may spend: wall-clock time, and characters allocated by
/// everything it builds (variables, filter results, ranges, output). Checked inside every filter, range, assign,
/// loop iteration and write, so no single construct can run or grow unseen.
/// </summary>
internal sealed class RenderBudget(long startedAt)
{
    private long _chars;

    public void CheckTime()
    {
        if (Stopwatch.GetElapsedTime(startedAt) > PromptTemplates.MaxRenderTime)
        {
            throw new TemplateLimitException($"the render took longer than {PromptTemplates.MaxRenderTime.TotalMilliseconds:F0} ms.");
        }
    }

    /// <summary>Counts characters (an array element counts as <see cref="ElementChars"/>) against the render's allowance.</summary>
    public void Charge(long chars)
    {
        _chars += chars;
        if (_chars > PromptTemplates.MaxRenderChars)
        {
            throw new TemplateLimitException($"the render built more than {PromptTemplates.MaxRenderChars} characters of values and output.");
        }
    }

    /// <summary>What an array slot and its value object cost, in characters (about 32 bytes).</summary>
    public const int ElementChars = 16;
}

/// <summary>A template context that carries its render's budget to filters and bounded expressions.</summary>
internal sealed class RenderContext(TemplateOptions options, RenderBudget budget) : TemplateContext(options)
{
    public RenderBudget Budget { get; } = budget;
}

/// <summary>
/// Wraps every registered filter: the time budget is checked first; filters whose result can be far larger than
/// their input (append, replace, join, split, newline_to_br, concat, the format filters) are sized before they
/// build anything; and every result is capped and charged to the render.
/// </summary>
internal static class BoundedFilters
{
    public static void Apply(FilterCollection filters)
    {
        foreach (var (name, filter) in filters.ToArray())
        {
            filters.AddFilter(name, Wrap(name, filter));
        }
    }

    private static FilterDelegate Wrap(string name, FilterDelegate inner) => (input, arguments, context) =>
    {
        var budget = (context as RenderContext)?.Budget;
        budget?.CheckTime();
        Precheck(name, input, arguments);
        var pending = inner(input, arguments, context);
        return pending.IsCompletedSuccessfully
            ? new ValueTask<FluidValue>(Account(name, input, pending.Result, budget))
            : AccountAsync(name, input, pending, budget);
    };

    private static async ValueTask<FluidValue> AccountAsync(string name, FluidValue input, ValueTask<FluidValue> pending, RenderBudget? budget) =>
        Account(name, input, await pending, budget);

    private static FluidValue Account(string name, FluidValue input, FluidValue result, RenderBudget? budget)
    {
        if (ReferenceEquals(result, input))
        {
            return result;
        }

        if (result is StringValue)
        {
            var length = result.ToStringValue().Length;
            Require(name, length);
            budget?.Charge(length);
        }
        else if (result is ArrayValue array)
        {
            var chars = CheckArray(name, array.Values.Count, Chars(array));
            budget?.Charge((array.Values.Count * RenderBudget.ElementChars) + (name == "split" ? chars : 0));
        }

        return result;
    }

    private static void Precheck(string name, FluidValue input, FilterArguments arguments)
    {
        switch (name)
        {
            case "append" or "prepend":
                Require(name, Chars(input) + Chars(arguments.At(0)));
                break;
            case "replace_first" or "replace_last":
                Require(name, Chars(input) + Chars(arguments.At(1)));
                break;
            case "replace":
                {
                    var text = Text(name, input);
                    var search = arguments.At(0).ToStringValue();
                    var growth = (long)arguments.At(1).ToStringValue().Length - search.Length;
                    if (search.Length > 0 && growth > 0)
                    {
                        var room = (PromptTemplates.MaxValueChars - text.Length) / growth;
                        Require(name, text.Length + (growth * Occurrences(text, search, room + 1)));
                    }

                    break;
                }

            case "newline_to_br":
                {
                    var text = Text(name, input);
                    Require(name, text.Length + (5L * Occurrences(text, "\n", PromptTemplates.MaxValueChars)));
                    break;
                }

            case "join" when input is ArrayValue array:
                Require(name, Chars(array) + ((long)Math.Max(0, array.Values.Count - 1) * Chars(arguments.At(0))));
                break;
            case "split":
                {
                    var text = Text(name, input);
                    var separator = arguments.At(0).ToStringValue();
                    var pieces = separator.Length == 0 ? text.Length : Occurrences(text, separator, PromptTemplates.MaxArrayLength) + 1;
                    CheckArray(name, pieces, text.Length);
                    break;
                }

            case "concat":
                CheckArray(name, Count(input) + Count(arguments.At(0)), Chars(input) + Chars(arguments.At(0)));
                break;
            default:
                if (FormatProblem(name, input, arguments) is { } problem)
                {
                    throw new TemplateLimitException(problem);
                }

                break;
        }
    }

    /// <summary>
    /// Formats that pad or repeat without bound: <c>date: '%999999999n'</c>, <c>format_number: 'D999999999'</c> and
    /// <c>'{0,999999}' | format_string</c> each build a string of up to gigabytes from a few characters.
    /// </summary>
    public static string? FormatProblem(string name, FluidValue input, FilterArguments arguments)
    {
        switch (name)
        {
            case "date":
                return WidthProblem(name, arguments.At(0).ToStringValue(), afterPercent: true);
            case "format_number":
                return WidthProblem(name, arguments.At(0).ToStringValue(), afterPercent: false);
            case "format_string":
                {
                    var format = input.ToStringValue();
                    var placeholders = 0;
                    for (var i = format.IndexOf('{'); i >= 0 && i < format.Length - 1; i = format.IndexOf('{', i + 1))
                    {
                        if (format[i + 1] == '{')
                        {
                            i++;
                            continue;
                        }

                        var close = format.IndexOf('}', i);
                        if (close < 0)
                        {
                            break;
                        }

                        placeholders++;
                        if (WidthProblem(name, format[i..close], afterPercent: false) is { } problem)
                        {
                            return problem;
                        }

                        i = close;
                    }

                    long widest = 2 * PromptTemplates.MaxFormatWidth;
                    for (var a = 0; a < arguments.Count; a++)
                    {
                        widest = Math.Max(widest, Chars(arguments.At(a)));
                    }

                    return format.Length + (placeholders * widest) > PromptTemplates.MaxValueChars
                        ? $"the result of '{name}' would have exceeded {PromptTemplates.MaxValueChars} characters."
                        : null;
                }

            default:
                return null;
        }
    }

    /// <summary>Any number in a format (a width, precision or alignment) above the limit.</summary>
    private static string? WidthProblem(string name, string format, bool afterPercent)
    {
        for (var i = 0; i < format.Length; i++)
        {
            if (!char.IsAsciiDigit(format[i]) || (i > 0 && char.IsAsciiDigit(format[i - 1])))
            {
                continue;
            }

            var end = i;
            while (end < format.Length && char.IsAsciiDigit(format[end]))
            {
                end++;
            }

            var digits = format.AsSpan(i, end - i).TrimStart('0');
            var start = i - 1;
            while (afterPercent && start >= 0 && format[start] is '-' or '_' or '0' or '^' or '#' or ':')
            {
                start--;
            }

            var counts = !afterPercent || (start >= 0 && format[start] == '%');
            if (counts && (digits.Length > 3 || (digits.Length > 0 && int.Parse(digits) > PromptTemplates.MaxFormatWidth)))
            {
                return $"'{name}' pads or repeats to {format[i..end]} characters; a format may use at most {PromptTemplates.MaxFormatWidth}.";
            }
        }

        return null;
    }

    /// <summary>A string result may not pass <see cref="PromptTemplates.MaxValueChars"/>.</summary>
    private static void Require(string name, long chars)
    {
        if (chars > PromptTemplates.MaxValueChars)
        {
            throw new TemplateLimitException($"the result of '{name}' would have exceeded {PromptTemplates.MaxValueChars} characters.");
        }
    }

    private static long CheckArray(string name, long count, long chars)
    {
        if (count > PromptTemplates.MaxArrayLength)
        {
            throw new TemplateLimitException($"the result of '{name}' would have exceeded {PromptTemplates.MaxArrayLength} items.");
        }

        if (chars > PromptTemplates.MaxRenderChars)
        {
            throw new TemplateLimitException($"the result of '{name}' would have exceeded {PromptTemplates.MaxRenderChars} characters in all.");
        }

        return chars;
    }

    /// <summary>The text of a value, refused before it is built when it would be longer than a string may be.</summary>
    private static string Text(string name, FluidValue value)
    {
        Require(name, Chars(value));
        return value.ToStringValue();
    }

    private static int Count(FluidValue value) => value is ArrayValue array ? array.Values.Count : 1;

    /// <summary>Occurrences of <paramref name="search"/>, counted up to <paramref name="limit"/>.</summary>
    private static long Occurrences(string text, string search, long limit)
    {
        long count = 0;
        for (var i = text.IndexOf(search, StringComparison.Ordinal); i >= 0 && count < limit;
             i = text.IndexOf(search, i + search.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>The length of a value's text (its <c>ToStringValue</c>) without building it; numbers and others at their widest.</summary>
    internal static long Chars(FluidValue value, int depth = 0) => value switch
    {
        StringValue => value.ToStringValue().Length,
        ArrayValue array when depth < 16 => Sum(array, depth),
        ArrayValue array => (long)array.Values.Count * PromptTemplates.MaxValueChars,
        NilValue or BlankValue or EmptyValue or DictionaryValue => 0,
        _ => 32,
    };

    private static long Sum(ArrayValue array, int depth)
    {
        long sum = 0;
        foreach (var item in array.Values)
        {
            sum += Chars(item, depth + 1);
        }

        return sum;
    }
}

/// <summary>A range, sized and charged before Fluid materialises it as an array (in for, assign, output or filter arguments).</summary>
internal sealed class BoundedRangeExpression(RangeExpression inner) : Expression
{
    public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
    {
        var from = (await inner.From.EvaluateAsync(context)).ToNumberValue();
        var to = (await inner.To.EvaluateAsync(context)).ToNumberValue();
        if (Math.Abs(from) > int.MaxValue || Math.Abs(to) > int.MaxValue || Math.Abs(to - from) >= PromptTemplates.MaxRangeLength)
        {
            throw new TemplateLimitException($"a range may hold at most {PromptTemplates.MaxRangeLength} numbers.");
        }

        if (context is RenderContext { Budget: var budget })
        {
            budget.CheckTime();
            budget.Charge((long)(Math.Abs(to - from) + 1) * RenderBudget.ElementChars);
        }

        return await inner.EvaluateAsync(context);
    }
}

/// <summary>Checks an assigned value's length and the render's time budget.</summary>
internal sealed class BoundedValueExpression(Expression inner) : Expression
{
    public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
    {
        var value = await inner.EvaluateAsync(context);
        if (value is StringValue && value.ToStringValue().Length > PromptTemplates.MaxValueChars)
        {
            throw new TemplateLimitException($"an assigned string exceeded {PromptTemplates.MaxValueChars} characters.");
        }

        (context as RenderContext)?.Budget.CheckTime();
        return value;
    }
}

/// <summary>First statement of every loop body: a loop of conditions alone neither writes nor filters, so it checks the clock here.</summary>
internal sealed class LoopCheckStatement : Statement
{
    public static readonly LoopCheckStatement Instance = new();

    public override ValueTask<Completion> WriteToAsync(TextWriter writer, TextEncoder encoder, TemplateContext context)
    {
        (context as RenderContext)?.Budget.CheckTime();
        return Normal();
    }
}

/// <summary>Rewrites a parsed template so that ranges, assigns and loops answer to the render budget.</summary>
internal sealed class BoundsRewriter : AstRewriter
{
    protected override Expression VisitRangeExpression(RangeExpression rangeExpression) =>
        new BoundedRangeExpression((RangeExpression)base.VisitRangeExpression(rangeExpression));

    protected override Statement VisitAssignStatement(AssignStatement assignStatement)
    {
        var visited = (AssignStatement)base.VisitAssignStatement(assignStatement);
        return new AssignStatement(visited.Identifier, new BoundedValueExpression(visited.Value));
    }

    protected override Statement VisitForStatement(ForStatement forStatement)
    {
        var loop = (ForStatement)base.VisitForStatement(forStatement);
        return new ForStatement(
            [LoopCheckStatement.Instance, .. loop.Statements], loop.Identifier, loop.Source, loop.Limit, loop.Offset, loop.Reversed, loop.Else);
    }

    protected override Statement VisitTableRowStatement(TableRowStatement tableRowStatement)
    {
        var loop = (TableRowStatement)base.VisitTableRowStatement(tableRowStatement);
        return new TableRowStatement(
            [LoopCheckStatement.Instance, .. loop.Statements], loop.Identifier, loop.Source, loop.Limit, loop.Offset, loop.Cols);
    }
}

/// <summary>Collects one message's output, refuses to grow past the limit, and charges what it writes to the render.</summary>
internal sealed class BoundedWriter(int limit, RenderBudget budget) : TextWriter
{
    private readonly StringBuilder _builder = new();

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
        budget.CheckTime();
        if (_builder.Length + more > limit)
        {
            throw new TemplateLimitException($"a rendered message exceeded {limit} characters.");
        }

        budget.Charge(more);
    }
}
