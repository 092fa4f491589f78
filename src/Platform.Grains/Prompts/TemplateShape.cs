using System.Runtime.CompilerServices;
using Fluid;
using Fluid.Ast;
using Fluid.Values;
using Parlot;
using Parlot.Fluent;

namespace Platform.Prompts;

/// <summary>
/// The shape limits of a template, checked before Fluid parses it: Fluid's parser and its evaluator recurse once
/// per nested block, bracket, filter and <c>and</c>/<c>or</c>, so a few thousand of any of them overflow the
/// stack and take the whole process down. A linear scan refuses such templates first; a depth guard inside the
/// grammar and a depth-limited walk of the parsed tree back it up should the scan and the parser ever disagree.
/// </summary>
internal static class TemplateShape
{
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> Blocks =
        new HashSet<string>(["if", "unless", "case", "for", "tablerow", "capture", "ifchanged"], StringComparer.Ordinal)
            .GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>What is wrong with the template's shape, in the author's terms, or null.</summary>
    public static string? Problem(string template)
    {
        var depth = 0;
        var i = 0;
        while (i < template.Length - 1)
        {
            var open = template.IndexOf('{', i);
            if (open < 0 || open == template.Length - 1)
            {
                return null;
            }

            var kind = template[open + 1];
            if (kind is not ('{' or '%'))
            {
                i = open + 1;
                continue;
            }

            var start = open + 2;
            if (kind == '{')
            {
                var endOfOutput = EndOf(template, start, '}');
                if (ExpressionProblem(template.AsSpan(start, endOfOutput - start)) is { } outputProblem)
                {
                    return outputProblem;
                }

                i = endOfOutput + 2;
                continue;
            }

            var nameStart = SkipSpaces(template, start < template.Length && template[start] == '-' ? start + 1 : start);
            var name = NameAt(template, nameStart);
            if (name == "#")
            {
                // An inline comment runs to the first '%}', quotes or not.
                var endOfComment = template.IndexOf("%}", nameStart, StringComparison.Ordinal);
                i = endOfComment < 0 ? template.Length : endOfComment + 2;
                continue;
            }

            var end = EndOf(template, nameStart + name.Length, '%');
            if (name is "raw" or "comment")
            {
                // Their content is text up to the first closing tag, exactly as Fluid reads it.
                i = EndOfBlock(template, end + 2, "end" + name);
                continue;
            }

            var content = template.AsSpan(nameStart + name.Length, end - nameStart - name.Length);
            if (name == "liquid")
            {
                // One statement per line, no delimiters.
                foreach (var line in content.EnumerateLines())
                {
                    var trimmed = line.TrimStart();
                    var word = NameAt(trimmed);
                    if ((Count(ref depth, word) ?? ExpressionProblem(trimmed[word.Length..])) is { } lineProblem)
                    {
                        return lineProblem;
                    }
                }
            }
            else if ((Count(ref depth, name) ?? ExpressionProblem(content)) is { } tagProblem)
            {
                return tagProblem;
            }

            i = end + 2;
        }

        return null;
    }

    private static string? Count(ref int depth, ReadOnlySpan<char> tag)
    {
        if (tag.StartsWith("end") && Blocks.Contains(tag[3..]))
        {
            depth = Math.Max(0, depth - 1);
        }
        else if (Blocks.Contains(tag) && ++depth > PromptTemplates.MaxNestingDepth)
        {
            return $"blocks ('{tag}' and the like) are nested more than {PromptTemplates.MaxNestingDepth} deep.";
        }

        return null;
    }

    /// <summary>Brackets and parentheses nest, filters and <c>and</c>/<c>or</c> chain: each costs a level of recursion.</summary>
    private static string? ExpressionProblem(ReadOnlySpan<char> expression)
    {
        int depth = 0, filters = 0, operators = 0;
        for (var i = 0; i < expression.Length; i++)
        {
            var c = expression[i];
            switch (c)
            {
                case '\'' or '"':
                    i = EndOfString(expression, i);
                    break;
                case '(' or '[':
                    if (++depth > PromptTemplates.MaxExpressionDepth)
                    {
                        return $"brackets or parentheses are nested more than {PromptTemplates.MaxExpressionDepth} deep.";
                    }

                    break;
                case ')' or ']':
                    depth = Math.Max(0, depth - 1);
                    break;
                case '|':
                    if (++filters > PromptTemplates.MaxFilterChain)
                    {
                        return $"an expression chains more than {PromptTemplates.MaxFilterChain} filters.";
                    }

                    break;
                default:
                    if (char.IsAsciiLetter(c) && (i == 0 || !IsNameChar(expression[i - 1])))
                    {
                        var word = NameAt(expression[i..]);
                        if ((word is "and" or "or") && ++operators > PromptTemplates.MaxFilterChain)
                        {
                            return $"an expression chains more than {PromptTemplates.MaxFilterChain} 'and'/'or' conditions.";
                        }

                        i += Math.Max(0, word.Length - 1);
                    }

                    break;
            }
        }

        return null;
    }

    /// <summary>Index of the closing "}}" or "%}" outside string literals, or the end of the text.</summary>
    private static int EndOf(string template, int from, char closer)
    {
        var text = template.AsSpan();
        for (var i = from; i < text.Length - 1; i++)
        {
            if (text[i] is '\'' or '"')
            {
                i = EndOfString(text, i);
            }
            else if (text[i] == closer && text[i + 1] == '}')
            {
                return i;
            }
        }

        return template.Length;
    }

    /// <summary>Index of the closing quote of the literal opening at <paramref name="open"/>; a backslash escapes, as in Fluid.</summary>
    private static int EndOfString(ReadOnlySpan<char> text, int open)
    {
        for (var i = open + 1; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
            else if (text[i] == text[open])
            {
                return i;
            }
        }

        return text.Length;
    }

    /// <summary>The index just past the first <c>{% endraw %}</c> (or endcomment) tag, whitespace control included.</summary>
    private static int EndOfBlock(string template, int from, string endTag)
    {
        for (var i = template.IndexOf("{%", from, StringComparison.Ordinal); i >= 0; i = template.IndexOf("{%", i + 2, StringComparison.Ordinal))
        {
            var nameStart = SkipSpaces(template, i + 2 < template.Length && template[i + 2] == '-' ? i + 3 : i + 2);
            if (NameAt(template, nameStart) == endTag)
            {
                var close = template.IndexOf("%}", nameStart, StringComparison.Ordinal);
                return close < 0 ? template.Length : close + 2;
            }
        }

        return template.Length;
    }

    private static int SkipSpaces(string text, int i)
    {
        while (i < text.Length && char.IsWhiteSpace(text[i]))
        {
            i++;
        }

        return i;
    }

    private static string NameAt(string text, int start) => start < text.Length ? NameAt(text.AsSpan(start)).ToString() : "";

    private static ReadOnlySpan<char> NameAt(ReadOnlySpan<char> text)
    {
        if (text.Length > 0 && text[0] == '#')
        {
            return text[..1];
        }

        var length = 0;
        while (length < text.Length && IsNameChar(text[length]))
        {
            length++;
        }

        return text[..length];
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '?';

    /// <summary>
    /// Fluid's parser with a depth guard on the two places its grammar recurses (a block's body and a primary
    /// expression), and on the stack itself: a template the scan let through still cannot overflow it.
    /// </summary>
    internal sealed class GuardedParser : FluidParser
    {
        public GuardedParser()
            : base(new FluidParserOptions { AllowFunctions = false })
        {
            AnyTagsList.Parser = new DepthGuard<IReadOnlyList<Statement>>(AnyTagsList.Parser!, PromptTemplates.MaxNestingDepth + 1, "blocks");
            Primary.Parser = new DepthGuard<Expression>(Primary.Parser!, 4 * PromptTemplates.MaxExpressionDepth, "expressions");
        }
    }

    private sealed class DepthGuard<T>(Parser<T> inner, int limit, string what) : Parser<T>
    {
        [ThreadStatic]
        private static int t_depth;

        public override bool Parse(ParseContext context, ref ParseResult<T> result)
        {
            if (t_depth >= limit || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
            {
                throw new Parlot.ParseException($"{what} are nested too deeply", context.Scanner.Cursor.Position);
            }

            t_depth++;
            try
            {
                return inner.Parse(context, ref result);
            }
            finally
            {
                t_depth--;
            }
        }
    }

    /// <summary>
    /// Checks a parsed template at version creation: no tags that read files or buffer without bound, no literal
    /// range longer than a render may build, no format that pads without bound, and a tree shallow enough to
    /// visit and evaluate (never recursing past the limit itself).
    /// </summary>
    internal sealed class Checks : AstVisitor
    {
        private int _depth;

        public string? Problem { get; private set; }

        public override Statement Visit(Statement statement) => Guarded(statement, static (self, s) => self.BaseVisit(s));

        public override Expression Visit(Expression expression) => Guarded(expression, static (self, e) => self.BaseVisit(e));

        private Statement BaseVisit(Statement statement) => base.Visit(statement);

        private Expression BaseVisit(Expression expression) => base.Visit(expression);

        private T Guarded<T>(T node, Func<Checks, T, T> visit)
        {
            if (Problem is not null)
            {
                return node;
            }

            if (_depth >= PromptTemplates.MaxTreeDepth)
            {
                Problem = $"it nests more than {PromptTemplates.MaxTreeDepth} levels of blocks, filters and conditions.";
                return node;
            }

            _depth++;
            try
            {
                return visit(this, node);
            }
            finally
            {
                _depth--;
            }
        }

        protected override Statement VisitIncludeStatement(IncludeStatement includeStatement) => Forbid(includeStatement, "include");

        protected override Statement VisitRenderStatement(RenderStatement renderStatement) => Forbid(renderStatement, "render");

        protected override Statement VisitCaptureStatement(CaptureStatement captureStatement) => Forbid(captureStatement, "capture");

        protected override Expression VisitRangeExpression(RangeExpression rangeExpression)
        {
            if (rangeExpression is { From: LiteralExpression from, To: LiteralExpression to }
                && Math.Abs(to.Value.ToNumberValue() - from.Value.ToNumberValue()) >= PromptTemplates.MaxRangeLength)
            {
                Problem ??= $"the range ({from.Value.ToStringValue()}..{to.Value.ToStringValue()}) holds more than "
                    + $"{PromptTemplates.MaxRangeLength} numbers.";
            }

            return base.VisitRangeExpression(rangeExpression);
        }

        protected override Expression VisitFilterExpression(FilterExpression filterExpression)
        {
            var input = (filterExpression.Input as LiteralExpression)?.Value;
            var arguments = new FilterArguments();
            foreach (var parameter in filterExpression.Parameters)
            {
                arguments.Add(parameter.Name, (parameter.Expression as LiteralExpression)?.Value ?? NilValue.Instance);
            }

            Problem ??= BoundedFilters.FormatProblem(filterExpression.Name, input ?? NilValue.Instance, arguments);
            return base.VisitFilterExpression(filterExpression);
        }

        private Statement Forbid(Statement statement, string tag)
        {
            Problem ??= $"it uses '{tag}', which prompt templates do not allow (no files, no unbounded buffers).";
            return statement;
        }
    }
}
