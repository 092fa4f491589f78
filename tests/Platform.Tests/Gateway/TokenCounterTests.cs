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
}
