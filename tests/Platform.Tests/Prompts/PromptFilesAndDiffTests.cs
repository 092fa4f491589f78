using Platform.Prompts;

namespace Platform.Tests.Prompts;

public sealed class PromptFilesAndDiffTests
{
    [Theory]
    [InlineData("messages: [null]", "messages[0] must be a mapping")]
    [InlineData("messages: [{role: user, template: hi}]\nvariables: [null]", "variables[0] must be a mapping")]
    [InlineData("messages: [{role: user, template: hi}]\nparameters: {temperature: 99}", "parameters.temperature")]
    [InlineData("nme: x\nmessages: [{role: user, template: hi}]", "'nme' is not a field of a prompt file")]
    public void Parse_NullsAndBadParameters_AreNamedRefusals(string yaml, string expected)
    {
        var error = Assert.Throws<PlatformException>(() => PromptFiles.Parse("x.yaml", yaml));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Platform.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Diff_ShowsAtMostMaxLines_AndCountsTheRest()
    {
        PromptContent Content(string template) => new([new PromptMessage("user", template), new PromptMessage("user", template)], [], new PromptParameters());
        var from = string.Join('\n', Enumerable.Range(0, 15_000).Select(i => $"a{i}"));
        var to = string.Join('\n', Enumerable.Range(0, 15_000).Select(i => $"b{i}"));

        var diff = PromptDiff.Compare("p", 1, Content(from), 2, Content(to));

        Assert.Equal(PromptDiff.MaxLines + 2, diff.Messages.Sum(m => m.Lines.Count));
        Assert.Equal("~", diff.Messages[0].Lines[^1].Kind);
        Assert.Contains("10000 more lines not shown", diff.Messages[0].Lines[^1].Text, StringComparison.Ordinal);
        Assert.Equal("~", diff.Messages[1].Lines.Single().Kind);
    }

    [Fact]
    public void Diff_OfTwoHugeUnrelatedTexts_IsCoarseButCorrect_KeepingCommonEnds()
    {
        var random = new Random(7);
        string Text() => "same head\n" + string.Join('\n', Enumerable.Range(0, 3000).Select(_ => random.Next(2) == 0 ? "a" : "b")) + "\nsame tail";
        PromptContent Content(string template) => new([new PromptMessage("user", template)], [], new PromptParameters());
        var (from, to) = (Text(), Text());

        var diff = PromptDiff.Compare("p", 1, Content(from), 2, Content(to));

        var lines = diff.Messages[0].Lines;
        Assert.Equal(new DiffLine(" ", "same head"), lines[0]);
        Assert.Equal(new DiffLine(" ", "same tail"), lines[^1]);
        Assert.Equal(string.Join('\n', lines.Where(l => l.Kind != "+").Select(l => l.Text)), from);
        Assert.Equal(string.Join('\n', lines.Where(l => l.Kind != "-").Select(l => l.Text)), to);
    }

    [Fact]
    public void Parse_ReadsNameMessagesVariablesAndParameters()
    {
        var file = PromptFiles.Parse("prompts/support.yaml", """
            message: tighten tone
            messages:
              - role: system
                template: "You are {{ persona }}."
            variables:
              - { name: persona, type: string, required: true }
              - { name: limit, type: integer, default: 3 }
            parameters: { model: sim-small, temperature: 0.2, maxTokens: 100 }
            """);

        Assert.Equal("support", file.Name);
        Assert.Equal("tighten tone", file.CommitMessage);
        Assert.Equal("You are {{ persona }}.", file.Content.Messages[0].Template);
        Assert.Equal("3", file.Content.Variables[1].DefaultJson);
        Assert.Equal(0.2, file.Content.Parameters.Temperature);
        Assert.Equal(100, file.Content.Parameters.MaxTokens);
    }

    [Fact]
    public void Parse_SameYaml_GivesTheSameHash()
    {
        const string Yaml = "messages:\n  - role: user\n    template: hi\n";
        Assert.Equal(
            PromptHashing.Hash(PromptFiles.Parse("a.yaml", Yaml).Content),
            PromptHashing.Hash(PromptFiles.Parse("a.yaml", Yaml).Content));
    }

    [Theory]
    [InlineData("messages:\n  - role: user\n    template: [oops\n", "line 4")]
    [InlineData("messages:\n  - role: user\n    template: hi\ncolour: red\n", "line 4")]
    [InlineData("messages: []\n", "at least one message")]
    [InlineData("messages:\n  - role: user\n    template: \"{% if x %}\"\n", "syntax error")]
    public void Parse_Bad_NamesTheFileAndWhere(string yaml, string where)
    {
        var error = Assert.Throws<PlatformException>(() => PromptFiles.Parse("prompts/bad.yaml", yaml));

        Assert.StartsWith("prompts/bad.yaml: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(where, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Diff_OfIdenticalContent_IsEmpty()
    {
        var content = PromptFiles.Parse("a.yaml", "messages:\n  - role: user\n    template: hi\n").Content;

        Assert.True(PromptDiff.Compare("a", 1, content, 2, content).IsEmpty);
    }

    [Fact]
    public void Diff_AddedMessageAndVariable_AreReported()
    {
        var before = PromptFiles.Parse("a.yaml", "messages:\n  - role: user\n    template: hi\n").Content;
        var after = PromptFiles.Parse("a.yaml", "messages:\n  - role: user\n    template: hi\n  - role: assistant\n    template: ok\nvariables:\n  - { name: v, type: string }\n").Content;

        var diff = PromptDiff.Compare("a", 1, before, 2, after);

        Assert.Equal("assistant", diff.Messages[1].ToRole);
        Assert.Null(diff.Messages[1].FromRole);
        Assert.Equal("v", Assert.Single(diff.Variables).Field);
        Assert.Contains("+ok", PromptDiff.Unified(diff), StringComparison.Ordinal);
    }
}
