using Microsoft.Extensions.AI;
using Microsoft.ML.Tokenizers;
using Platform.Providers.Tokens;

namespace Platform.Tests.Gateway;

public sealed class TokenCounterTests
{
    private static readonly Tokenizer Reference = TiktokenTokenizer.CreateForEncoding("o200k_base");

    [Theory]
    [InlineData("Hello, world! How are you today?")]
    [InlineData("Ünïcödé 漢字 and emoji 🙂🙂 with    spaces\n\nand lines")]
    [InlineData("")]
    public void OrdinaryText_CountsExactlyAsTheTokenizer(string text) =>
        Assert.Equal(text.Length == 0 ? 0 : Reference.CountTokens(text), TokenCounter.Count(text));

    [Theory]
    [InlineData('x')]
    [InlineData('!')]
    [InlineData(' ')]
    public void LongRunsOfOneKind_AreCountedInPieces_WithinOneTokenPerPiece(char c)
    {
        var text = "start " + new string(c, 3000) + " end";

        var counted = TokenCounter.Count(text);

        var exact = Reference.CountTokens(text);
        Assert.InRange(counted, exact, exact + (3000 / TokenCounter.MaxRun) + 1);
    }

    [Fact]
    public void Pieces_NeverSplitASurrogatePair_AndCoverTheWholeText()
    {
        var text = string.Concat(Enumerable.Repeat("🙂", 1000));
        var rest = text.AsSpan();
        var total = 0;
        while (!rest.IsEmpty)
        {
            var piece = TokenCounter.NextPiece(rest);
            Assert.False(char.IsHighSurrogate(piece[^1]));
            Assert.True(piece.Length <= TokenCounter.MaxRun + 1);
            total += piece.Length;
            rest = rest[piece.Length..];
        }

        Assert.Equal(text.Length, total);
    }

    [Fact]
    public void CountPrompt_CountsToolArgumentsToolResultsToolSchemasAndResponseSchemas_AsAProviderBillsThem()
    {
        var bulk = string.Join(' ', Enumerable.Range(0, 1000).Select(i => $"w{i}"));
        var bulkTokens = Reference.CountTokens(bulk);
        var plain = TokenCounter.CountPrompt([new ChatMessage(ChatRole.User, "hi")]);
        var call = new FunctionCallContent("c1", "f", new Dictionary<string, object?> { ["a"] = bulk });
        List<ChatMessage> withTools =
        [
            new(ChatRole.User, "hi"),
            new(ChatRole.Assistant, [call]),
            new(ChatRole.Tool, [new FunctionResultContent("c1", bulk)]),
        ];

        // The tool call's arguments and the tool's result are each at least the bulk text.
        Assert.True(TokenCounter.CountPrompt(withTools) >= plain + (2 * bulkTokens), $"{TokenCounter.CountPrompt(withTools)} tokens");

        using var schema = System.Text.Json.JsonDocument.Parse(System.Text.Json.JsonSerializer.Serialize(new { type = "object", description = bulk }));
        var options = new ChatOptions
        {
            Tools = [AIFunctionFactory.CreateDeclaration("f", bulk, schema.RootElement)],
            ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement.Clone(), "s"),
        };
        List<ChatMessage> hi = [new(ChatRole.User, "hi")];

        // The tool's description and schema, and the response schema: three times the bulk text on top of the messages.
        Assert.True(TokenCounter.CountPrompt(hi, options) >= plain + (3 * bulkTokens), $"{TokenCounter.CountPrompt(hi, options)} tokens");
        Assert.Equal(plain, TokenCounter.CountPrompt(hi, null));
    }

    [Theory]
    [InlineData("Hello, world! How are you today?")]
    [InlineData("Ünïcödé 漢字 and emoji 🙂🙂 with    spaces\n\nand lines")]
    [InlineData("a")]
    [InlineData("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")]
    [InlineData("𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ‮ RTL ‭ and zero​width")]
    public void BoundPrompt_IsNeverBelowTheCount_WithToolsAndSchemasToo(string text)
    {
        using var schema = System.Text.Json.JsonDocument.Parse(System.Text.Json.JsonSerializer.Serialize(new { type = "object", description = text }));
        var options = new ChatOptions
        {
            Tools = [AIFunctionFactory.CreateDeclaration("f", text, schema.RootElement)],
            ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement.Clone(), "s"),
        };
        List<ChatMessage> messages =
        [
            new(ChatRole.System, text),
            new(ChatRole.User, text + text),
            new(ChatRole.Assistant, [new FunctionCallContent("c1", "f", new Dictionary<string, object?> { ["a"] = text })]),
            new(ChatRole.Tool, [new FunctionResultContent("c1", text)]),
        ];

        var counted = TokenCounter.CountPrompt(messages, options);
        var bound = TokenCounter.BoundPrompt(messages, options);

        Assert.InRange(bound, counted, long.MaxValue);
        Assert.InRange(TokenCounter.BoundPrompt(messages, null), TokenCounter.CountPrompt(messages, null), bound - 1);
    }
}
