using Platform.Prompts;

namespace Platform.Tests.Prompts;

public sealed class PromptFilesAndDiffTests
{
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
