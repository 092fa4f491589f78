using System.Text.Json;
using Fluid;
using Platform.Prompts;

namespace Platform.Tests.Prompts;

/// <summary>
/// Templates written to take a silo down (issue 10, finding 4): each is refused at version creation or stopped
/// inside the render, with a 400 and without the render ever holding more than a few MB.
/// </summary>
public sealed class TemplateBombTests
{
    /// <summary>Far above the render budget (about 4 MB of characters) and far below what any bomb allocated before.</summary>
    private const long MaxAllocatedBytes = 32L * 1024 * 1024;

    private static readonly PromptVariable[] Declared =
    [
        new("s", "string", false),
        new("t", "string", false),
        new("f", "string", false),
        new("n", "integer", false),
        new("items", "list", false),
    ];

    private static PromptContent Content(string template) => new([new PromptMessage("user", template)], Declared, new PromptParameters());

    private static PromptVersion Version(PromptContent content) => new("t", "p", 1, content, "m", "k", DateTimeOffset.UnixEpoch, "h");

    private static Dictionary<string, JsonElement> Vars(object variables) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(JsonSerializer.Serialize(variables))!;

    private static string Repeat(string text, int times) => string.Concat(Enumerable.Repeat(text, times));

    private static PlatformException RefusedAtCreation(string template)
    {
        var error = Assert.Throws<PlatformException>(() => PromptTemplates.Validate(Content(template)));
        Assert.Equal(ErrorKind.Invalid, error.Kind);
        Assert.Equal("messages[0].template", error.Field);
        return error;
    }

    /// <summary>Saves the template, renders it, and returns the refusal; the render must stay within a few MB.</summary>
    private static PlatformException RefusedAtRender(string template, object? variables = null)
    {
        var content = Content(template);
        PromptTemplates.Validate(content);
        var compiled = PromptTemplates.Compile(Version(content));
        var vars = variables is null ? null : Vars(variables);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<PlatformException>(() => PromptTemplates.Render(compiled, vars));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(ErrorKind.Invalid, error.Kind);
        Assert.True(allocated < MaxAllocatedBytes, $"the refused render allocated {allocated / (1024 * 1024)} MB");
        return error;
    }

    [Fact]
    public void NestedBlocks_ThreeThousandDeep_AreRefusedBeforeParsing()
    {
        var error = RefusedAtCreation(Repeat("{% if true %}", 3000) + "x" + Repeat("{% endif %}", 3000));
        Assert.Contains($"nested more than {PromptTemplates.MaxNestingDepth} deep", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NestedBlocks_AtTheLimit_AreAccepted()
    {
        var depth = PromptTemplates.MaxNestingDepth;
        var content = Content(Repeat("{% if true %}{% for i in (1..1) %}", depth / 2) + "x" + Repeat("{% endfor %}{% endif %}", depth / 2));
        PromptTemplates.Validate(content);
        Assert.Equal("x", PromptTemplates.Render(PromptTemplates.Compile(Version(content)), null)[0].Content);
    }

    [Theory]
    [InlineData("parentheses")]
    [InlineData("indexers")]
    [InlineData("and")]
    [InlineData("liquid")]
    [InlineData("unless-case-for")]
    public void DeepExpressionsAndNesting_AreRefusedBeforeParsing(string kind)
    {
        var template = kind switch
        {
            "parentheses" => "{{ " + Repeat("(", 5000) + "1" + Repeat(")", 5000) + " }}",
            "indexers" => "{{ s" + Repeat("[s", 5000) + Repeat("]", 5000) + " }}",
            "and" => "{% if " + Repeat("true and ", 5000) + "true %}x{% endif %}",
            "liquid" => "{% liquid\n" + Repeat("if true\n", 3000) + Repeat("endif\n", 3000) + "%}",
            _ => Repeat("{% unless false %}{% case 1 %}{% when 1 %}{% for i in (1..1) %}", 1000)
                + Repeat("{% endfor %}{% endcase %}{% endunless %}", 1000),
        };

        RefusedAtCreation(template);
    }

    [Fact]
    public void FilterChain_OfFifteenHundredAppends_IsRefusedAtCreation()
    {
        var error = RefusedAtCreation("{{ s" + Repeat(" | append: s", 1500) + " }}");
        Assert.Contains($"more than {PromptTemplates.MaxFilterChain} filters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FilterChain_OfAppendsOverALargeString_IsStoppedBeforeItBuildsTheString()
    {
        var error = RefusedAtRender("{{ s" + Repeat(" | append: s", 40) + " }}", new { s = new string('a', 200_000) });
        Assert.Contains("'append' would have exceeded", error.Message, StringComparison.Ordinal);
        Assert.Equal("messages[0]", error.Field);
    }

    [Fact]
    public void LiteralRange_InAssign_IsRefusedAtCreation()
    {
        var error = RefusedAtCreation("{% assign r = (1..20000000) %}{{ r | size }}");
        Assert.Contains("(1..20000000)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VariableRange_InAssign_IsStoppedBeforeItIsBuilt()
    {
        var error = RefusedAtRender("{% assign r = (1..n) %}{{ r | size }}", new { n = 20_000_000 });
        Assert.Contains($"at most {PromptTemplates.MaxRangeLength} numbers", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{% for i in (1..20000000) %}x{% endfor %}")]
    [InlineData("{% tablerow i in (1..20000000) %}x{% endtablerow %}")]
    [InlineData("{{ (1..20000000) | size }}")]
    [InlineData("{{ s | default: (1..20000000) }}")]
    public void LiteralRange_AnywhereElse_IsRefusedAtCreation(string template) => RefusedAtCreation(template);

    [Theory]
    [InlineData("{% for i in (1..n) %}x{% endfor %}")]
    [InlineData("{{ (n..1) | size }}")]
    [InlineData("{{ s | default: (1..n) | size }}")]
    public void VariableRange_AnywhereElse_IsStoppedAtRender(string template) => RefusedAtRender(template, new { n = 20_000_000 });

    [Fact]
    public void StringDoubling_ThroughAnAssignLoop_IsStopped()
    {
        var error = RefusedAtRender("{% assign s = 'ab' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}");
        Assert.Contains("'append'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ListDoubling_ThroughAnAssignLoop_IsStoppedBeforeJoinBuildsIt()
    {
        // Each concat only copies references, so the list doubles for free; joining it would build gigabytes.
        var error = RefusedAtRender(
            "{% assign a = s | split: '~' %}{% for i in (1..30) %}{% assign a = a | concat: a %}{% endfor %}{{ a | join: '' | size }}",
            new { s = new string('a', 100_000) });
        Assert.Contains("'concat' would have exceeded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HugeReplace_IsRefusedBeforeItBuildsTheString()
    {
        var error = RefusedAtRender("{{ s | replace: 'a', t }}", new { s = new string('a', 200_000), t = new string('b', 100) });
        Assert.Contains("'replace' would have exceeded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Replace_ThatStaysSmall_StillWorks()
    {
        var content = Content("{{ s | replace: 'a', 'bb' | size }}");
        PromptTemplates.Validate(content);
        var rendered = PromptTemplates.Render(PromptTemplates.Compile(Version(content)), Vars(new { s = new string('a', 1000) }));
        Assert.Equal("2000", rendered[0].Content);
    }

    [Fact]
    public void ManyFilterResults_InALoop_ExhaustTheRenderBudget()
    {
        // Every result is small enough on its own; together they would pass any per-value limit.
        var error = RefusedAtRender("{% for i in (1..9999) %}{% assign u = s | upcase %}{% endfor %}", new { s = new string('a', 100_000) });
        Assert.Contains($"more than {PromptTemplates.MaxRenderChars} characters", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{ 'now' | date: '%999999999n' }}")]
    [InlineData("{{ 'now' | date: '%-0999999t' }}")]
    [InlineData("{{ 1 | format_number: 'D999999999' }}")]
    [InlineData("{{ '{0,999999}' | format_string: 1 }}")]
    [InlineData("{{ '{0:D99999999}' | format_string: 1 }}")]
    public void PaddingFormats_AreRefusedAtCreation(string template) =>
        Assert.Contains("a format may use at most", RefusedAtCreation(template).Message, StringComparison.Ordinal);

    [Fact]
    public void PaddingFormat_FromAVariable_IsStoppedAtRender() =>
        RefusedAtRender("{{ 'now' | date: f }}", new { f = "%999999999n" });

    [Fact]
    public void HugeList_AsAVariable_IsRefusedNamingIt()
    {
        var error = RefusedAtRender("{{ items | size }}", new { items = new int[PromptTemplates.MaxArrayLength + 1] });
        Assert.Equal("variables.items", error.Field);
    }

    [Fact]
    public void StoredVersion_ThatNoLongerPassesTheChecks_RendersAsA400()
    {
        // A version saved before these limits (Compile does not require Validate to have passed).
        var content = Content("{{ s" + Repeat(" | append: s", 1500) + " }}");
        var compiled = PromptTemplates.Compile(Version(content));

        var error = Assert.Throws<PlatformException>(() => PromptTemplates.Render(compiled, null));
        Assert.Equal(ErrorKind.Invalid, error.Kind);
    }

    [Theory]
    [InlineData("blocks")]
    [InlineData("parentheses")]
    public void Parser_RefusesDeepNesting_EvenWhenTheScanIsBypassed(string kind)
    {
        // The backstop: the grammar itself stops recursing, whatever the pre-scan let through.
        var template = kind == "blocks"
            ? Repeat("{% if true %}", 5000) + Repeat("{% endif %}", 5000)
            : "{{ " + Repeat("(", 5000) + "1" + Repeat(")", 5000) + " }}";

        Assert.False(new TemplateShape.GuardedParser().TryParse(template, out _, out var error));
        Assert.Contains("nested too deeply", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TreeDepthCheck_StopsAtItsLimit_EvenWhenTheScanIsBypassed()
    {
        // A 1,000-filter chain parses without recursion but is a tree 1,000 deep; the check never recurses past its limit.
        var parsed = new TemplateShape.GuardedParser().Parse("{{ s" + Repeat(" | upcase", 1000) + " }}");
        var checks = new TemplateShape.Checks();
        checks.VisitTemplate(parsed);
        Assert.Contains($"more than {PromptTemplates.MaxTreeDepth} levels", checks.Problem, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Corpus => new()
    {
        { "{% for a in (1..9999) %}{% for b in (1..9999) %}{% for c in (1..9999) %}x{% endfor %}{% endfor %}{% endfor %}", "{}" },
        { "{% for a in (1..9999) %}{% for b in (1..9999) %}{% if s contains t %}{% endif %}{% endfor %}{% endfor %}", "{\"s\":\"ab\",\"t\":\"b\"}" },
        { "{{ s | split: '' | size }}", Big("s", "a") },
        { "{{ s | split: ',' | size }}", Big("s", ",") },
        { "{% assign r = (1..n) %}{% for i in r %}{% for j in r %}{% cycle 'a', 'b' %}{% endfor %}{% endfor %}", "{\"n\":9999}" },
        { "{{ s | upcase | url_encode }}", Big("s", "ß") },
        { "{{ s | escape | escape | escape | escape }}", Big("s", "&") },
        { "{{ s | newline_to_br }}", Big("s", "\\n") },
        { "{{ items | join: s }}", "{\"items\":[" + string.Join(',', Enumerable.Repeat("1", 10_000)) + "],\"s\":\"" + new string('x', 1000) + "\"}" },
        { "{% for i in (1..9999) %}{{ s }}{% endfor %}", "{\"s\":\"" + new string('x', 1000) + "\"}" },
        { "{% tablerow i in (1..9999) cols:1 %}{{ s }}{% endtablerow %}", "{\"s\":\"" + new string('x', 1000) + "\"}" },
        { "{{ s | replace: 'a', s }}", "{\"s\":\"" + new string('a', 1000) + "\"}" },
        { "{{ s | prepend: s | prepend: s | prepend: s }}", Big("s", "a") },
        { "{{ s | base64_decode }}", "{\"s\":\"not base64!\"}" },
        { "{{ 'now' | date: f }}", "{\"f\":\"%99999999999999n\"}" },
        { "{{ f | format_string: s, s, s }}", "{\"f\":\"" + Repeat("{0}", 2000) + "\",\"s\":\"" + new string('x', 1000) + "\"}" },
        { "{{ 1 | format_number: f }}", "{\"f\":\"N999999999\"}" },
        { "{% assign a = s | split: '~' %}{% for i in (1..20) %}{% assign a = a | concat: a %}{% endfor %}{{ a | upcase }}", Big("s", "a") },
    };

    /// <summary>A corpus of other hostile templates: each is refused (a 400) at render, never a crash or another exception.</summary>
    [Theory]
    [MemberData(nameof(Corpus))]
    public void HostileTemplate_IsRefusedAtRender(string template, string variablesJson) =>
        RefusedAtRender(template, Vars(JsonDocument.Parse(variablesJson).RootElement));

    public static TheoryData<string, string, string> Harmless => new()
    {
        { "{{ s | slice: 0, 2000000000 | size }}", "{\"s\":\"abc\"}", "3" },
        { "{{ s | strip_html | size }}", "{\"s\":\"<" + new string('a', 200_000) + "\"}", "0" },
        { "{{ s | truncate: 2000000000, t | size }}", "{\"s\":\"abc\",\"t\":\"" + new string('x', 1000) + "\"}", "3" },
        { "{{ s | truncatewords: 2000000000 | size }}", "{\"s\":\"a b c\"}", "5" },
        { "{% raw %}" + Repeat("{% if true %}", 100) + "{% endraw %}ok", "{}", Repeat("{% if true %}", 100) + "ok" },
        { "{% comment %}" + Repeat("{% if %}", 100) + "{% endcomment %}ok", "{}", "ok" },
        { Repeat("{{ '{% if true %}' | size }}", 100), "{}", Repeat("13", 100) },
        { "{{ s | slice: 1, 1 | size }}{{ s | size }}", "{\"s\":\"😀\"}", "12" },
        { "{{ 'a|b|c' | split: '|' | join: '-' }} {{ s | append: ')' }}", "{\"s\":\"((\"}", "a-b-c (()" },
    };

    /// <summary>Look-alikes of the bombs that are ordinary templates: they render as before.</summary>
    [Theory]
    [MemberData(nameof(Harmless))]
    public void HarmlessLookAlike_Renders(string template, string variablesJson, string expected)
    {
        var content = Content(template);
        PromptTemplates.Validate(content);
        var vars = Vars(JsonDocument.Parse(variablesJson).RootElement);
        Assert.Equal(expected, PromptTemplates.Render(PromptTemplates.Compile(Version(content)), vars)[0].Content);
    }

    private static string Big(string name, string unit) => $"{{\"{name}\":\"{Repeat(unit, 200_000)}\"}}";
}
