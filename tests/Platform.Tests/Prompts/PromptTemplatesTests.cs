using System.Text.Json;
using Platform.Prompts;

namespace Platform.Tests.Prompts;

public sealed class PromptTemplatesTests
{
    private static PromptVersion Version(PromptContent content) =>
        new("t", "p", 1, content, "m", "k", DateTimeOffset.UnixEpoch, "h");

    private static PromptContent Content(string template, params PromptVariable[] variables) =>
        new([new PromptMessage("user", template)], variables, new PromptParameters());

    private static Dictionary<string, JsonElement> Vars(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!;

    private static string RenderOne(string template, string variablesJson, params PromptVariable[] variables)
    {
        var content = Content(template, variables);
        PromptTemplates.Validate(content);
        return PromptTemplates.Render(PromptTemplates.Compile(Version(content)), Vars(variablesJson))[0].Content;
    }

    [Theory]
    [InlineData("[1]", "parameters.tools[0]")]
    [InlineData("[null]", "parameters.tools[0]")]
    [InlineData("[{}]", "parameters.tools[0]")]
    [InlineData("[{\"type\":\"function\"}]", "parameters.tools[0]")]
    [InlineData("[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":\"x\"}}]", "parameters.tools[0]")]
    [InlineData("\"notalist\"", "parameters.tools")]
    public void Validate_ToolsNotInTheShapeRequestsTake_AreRefused(string tools, string field)
    {
        var content = new PromptContent([new PromptMessage("user", "hi")], [], new PromptParameters(ToolsJson: tools));

        var error = Assert.Throws<PlatformException>(() => PromptTemplates.Validate(content));

        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void Validate_AFunctionTool_IsAccepted() => PromptTemplates.Validate(new PromptContent(
        [new PromptMessage("user", "hi")], [], new PromptParameters(ToolsJson: """[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]""")));

    [Theory]
    [InlineData("{% for i in (1..10000) %}{% for j in (1..10000) %}{% if j == 0 %}x{% endif %}{% endfor %}{% endfor %}")]
    [InlineData("{{ 1 | divided_by: 0 }}")]
    [InlineData("{{ 79228162514264337593543950335 | plus: 79228162514264337593543950335 }}")]
    public void RenderFailure_IsTheVersionsFault_InTheAuthorsTerms(string template)
    {
        var content = Content(template);
        PromptTemplates.Validate(content);

        var error = Assert.Throws<PlatformException>(() => PromptTemplates.Render(PromptTemplates.Compile(Version(content)), Vars("{}")));

        Assert.Equal(ErrorCodes.PromptRenderFailed, error.Code);
        Assert.Equal("messages[0]", error.Field);
        Assert.StartsWith("Rendering message 0 failed: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_EachVariableType()
    {
        var text = RenderOne(
            "{{ name }}|{{ n | plus: 1 }}|{{ i }}|{% if flag %}yes{% else %}no{% endif %}|{% for x in items %}[{{ x }}]{% endfor %}|{{ user.city }}",
            """{"name":"Ada","n":1.5,"i":3,"flag":true,"items":["a","b"],"user":{"city":"Oslo"}}""",
            new PromptVariable("name", "string", true),
            new PromptVariable("n", "number", true),
            new PromptVariable("i", "integer", true),
            new PromptVariable("flag", "boolean", true),
            new PromptVariable("items", "list", true),
            new PromptVariable("user", "object", true));

        Assert.Equal("Ada|2.5|3|yes|[a][b]|Oslo", text);
    }

    [Fact]
    public void Render_UsesDefaults_AndEscapesOnRequest()
    {
        var text = RenderOne(
            "{{ tone }} {{ html | escape }}",
            """{"html":"<b>"}""",
            new PromptVariable("tone", "string", false, "\"friendly\""),
            new PromptVariable("html", "string", true));

        Assert.Equal("friendly &lt;b&gt;", text);
    }

    [Fact]
    public void Render_MissingRequiredVariable_NamesIt()
    {
        var error = Assert.Throws<PlatformException>(() => RenderOne("{{ city }}", "{}", new PromptVariable("city", "string", true)));
        Assert.Equal("variables.city", error.Field);
    }

    [Theory]
    [InlineData("string", "42")]
    [InlineData("integer", "1.5")]
    [InlineData("number", "\"7\"")]
    [InlineData("boolean", "\"true\"")]
    [InlineData("list", "{}")]
    [InlineData("object", "[]")]
    public void Render_WrongType_NamesTheVariable(string type, string value)
    {
        var error = Assert.Throws<PlatformException>(() => RenderOne("{{ v }}", $$"""{"v":{{value}}}""", new PromptVariable("v", type, true)));
        Assert.Equal("variables.v", error.Field);
    }

    [Fact]
    public void Render_UndeclaredVariable_IsRefused()
    {
        var error = Assert.Throws<PlatformException>(() => RenderOne("hi", """{"extra":1}"""));
        Assert.Equal("variables.extra", error.Field);
    }

    [Fact]
    public void Validate_SyntaxError_GivesLineAndColumn()
    {
        var error = Assert.Throws<PlatformException>(() => PromptTemplates.Validate(Content("line one\n{% if x %}never closed")));
        Assert.Equal("messages[0].template", error.Field);
        Assert.Matches(@"\(\d+:\d+\)", error.Message);
    }

    [Theory]
    [InlineData("{% include '/etc/passwd' %}", "include")]
    [InlineData("{% render 'x' %}", "render")]
    [InlineData("{% capture big %}x{% endcapture %}", "capture")]
    public void Sandbox_FileAndBufferTags_AreRefusedAtCreation(string template, string tag)
    {
        var error = Assert.Throws<PlatformException>(() => PromptTemplates.Validate(Content(template)));
        Assert.Contains(tag, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sandbox_SelfAppendingAssignLoop_FailsCleanly()
    {
        var content = Content("{% assign s = 'aaaa' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}");
        PromptTemplates.Validate(content);

        var error = Assert.Throws<PlatformException>(() => PromptTemplates.Render(PromptTemplates.Compile(Version(content)), null));
        Assert.Contains("exceeded", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{ 1 | divided_by: 0 }}")]
    [InlineData("{% for i in (5000000000..5000000001) %}x{% endfor %}")]
    public void RuntimeErrorsOfATemplate_AreA400NotACrash(string template)
    {
        var content = Content(template);
        PromptTemplates.Validate(content);

        Assert.Throws<PlatformException>(() => PromptTemplates.Render(PromptTemplates.Compile(Version(content)), null));
    }

    [Fact]
    public void HugeNumberVariable_IsRefused()
    {
        var error = Assert.Throws<PlatformException>(() => RenderOne("{{ n }}", "{\"n\":1e300}", new PromptVariable("n", "number", true)));
        Assert.Equal(ErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void Sandbox_UnboundedLoop_IsRefusedAtCreation()
    {
        // Literal ranges longer than a render may build are refused when the version is saved (TemplateBombTests covers ranges from variables).
        var content = Content("{% for i in (1..100000000) %}{% for j in (1..100000000) %}x{% endfor %}{% endfor %}");

        var error = Assert.Throws<PlatformException>(() => PromptTemplates.Validate(content));
        Assert.Equal(ErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void Sandbox_LongButBoundedLoops_AreStoppedByTheStepLimit()
    {
        var content = Content("{% for i in (1..9000) %}{% for j in (1..9000) %}{% endfor %}{% endfor %}");
        PromptTemplates.Validate(content);

        Assert.Throws<PlatformException>(() => PromptTemplates.Render(PromptTemplates.Compile(Version(content)), null));
    }

    [Fact]
    public void Render_LoopOfAFewThousand_Works()
    {
        Assert.Equal(3000, RenderOne("{% for i in (1..3000) %}x{% endfor %}", "{}").Length);
    }

    [Fact]
    public void Sandbox_HugeOutput_FailsCleanly()
    {
        var content = Content("{% for i in (1..5000) %}{{ s }}{% endfor %}", new PromptVariable("s", "string", true));
        PromptTemplates.Validate(content);

        var error = Assert.Throws<PlatformException>(() =>
            PromptTemplates.Render(PromptTemplates.Compile(Version(content)), Vars($$"""{"s":"{{new string('x', 1000)}}"}""")));
        Assert.Contains("exceeded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sandbox_NoReflectionOnValues()
    {
        // Members of .NET types behind the values are not reachable: only the JSON shape is.
        var text = RenderOne("{{ s.Length }}{{ s.GetType }}{{ o.GetType.Assembly }}", """{"s":"abc","o":{"a":1}}""",
            new PromptVariable("s", "string", true), new PromptVariable("o", "object", true));
        Assert.Equal("", text);
    }

    [Theory]
    [InlineData("robot")]
    [InlineData("tool")]
    public void Validate_UnknownRole_IsRefused(string role)
    {
        var content = new PromptContent([new PromptMessage(role, "x")], [], new PromptParameters());
        Assert.Equal("messages[0].role", Assert.Throws<PlatformException>(() => PromptTemplates.Validate(content)).Field);
    }

    [Fact]
    public void Validate_BadVariableDeclarations_AreRefused()
    {
        Assert.Equal("variables[0].type", Assert.Throws<PlatformException>(() => PromptTemplates.Validate(Content("x", new PromptVariable("a", "date", true)))).Field);
        Assert.Equal("variables[1].name", Assert.Throws<PlatformException>(() => PromptTemplates.Validate(Content("x", new PromptVariable("a", "string", true), new PromptVariable("a", "string", true)))).Field);
        Assert.Equal("variables.a", Assert.Throws<PlatformException>(() => PromptTemplates.Validate(Content("x", new PromptVariable("a", "integer", false, "\"seven\"")))).Field);
        Assert.Equal("variables[0].default", Assert.Throws<PlatformException>(() => PromptTemplates.Validate(Content("x", new PromptVariable("a", "integer", false, "{not json")))).Field);
    }
}
