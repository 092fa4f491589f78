using System.Text;
using Platform.Evaluations;
using Platform.Evaluations.Datasets;

namespace Platform.Tests.Evaluations.Datasets;

public sealed class DatasetParserTests
{
    private static Task<DatasetParseResult> Jsonl(string text) => DatasetJsonLines.ParseAsync(new StringReader(text));

    private static Task<DatasetParseResult> Csv(string text) => DatasetCsv.ParseAsync(new StringReader(text));

    private static string Lines(params string[] lines) => string.Join("\n", lines) + "\n";

    [Fact]
    public async Task Jsonl_ValidItems_ReadEveryField_AndNumbersAndBooleansBecomeTheirJsonText()
    {
        var result = await Jsonl(Lines(
            """{"id":"a","input":{"q":"why?","n":3,"x":1.50,"ok":true},"expected":"because","context":"ctx","tags":["t1","t2"],"split":"test"}""",
            """{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}"""));

        Assert.True(result.IsAccepted(skipInvalid: false));
        Assert.Equal(2, result.Items.Count);
        var a = result.Items[0];
        Assert.Equal("a", a.Id);
        Assert.Equal(new Dictionary<string, string> { ["q"] = "why?", ["n"] = "3", ["x"] = "1.50", ["ok"] = "true" }, a.Input);
        Assert.Equal(("because", "ctx", "test"), (a.Expected, a.Context, a.Split));
        Assert.Equal(["t1", "t2"], a.Tags);
        var b = result.Items[1];
        Assert.Equal("item-2", b.Id);
        Assert.Null(b.Input);
        Assert.Equal([new DatasetMessage("system", "be brief"), new DatasetMessage("user", "hi")], b.Messages);
        Assert.Empty(b.Tags);
    }

    [Fact]
    public async Task Jsonl_BomCrlfAndBlankLines_AreFine_AndLineNumbersCountEveryPhysicalLine()
    {
        var result = await Jsonl("\uFEFF{\"input\":{\"q\":\"1\"}}\r\n\r\n   \r\n{\"input\":{\"q\":\"2\"}}\r\n{oops}\r\n");

        Assert.Equal(["1", "2"], result.Items.Select(i => i.Input!["q"]));
        Assert.Equal(5, Assert.Single(result.Errors).Line);
    }

    [Fact]
    public async Task Jsonl_MalformedJsonOnLine3_IsReportedAsLine3_AndNothingIsAccepted()
    {
        var result = await Jsonl(Lines("""{"input":{"q":"a"}}""", """{"input":{"q":"b"}}""", """{"input":{"q": "c"""));

        var error = Assert.Single(result.Errors);
        Assert.Equal(3, error.Line);
        Assert.StartsWith("not valid JSON", error.Message, StringComparison.Ordinal);
        Assert.False(result.IsAccepted(skipInvalid: false));
        Assert.Contains("line 3", result.Refusal(skipInvalid: false), StringComparison.Ordinal);
        Assert.True(result.IsAccepted(skipInvalid: true));
        Assert.Equal(2, result.Items.Count);
    }

    [Theory]
    [InlineData("""[1,2]""", "must be a JSON object")]
    [InlineData("""{"input":"q"}""", "input must be an object")]
    [InlineData("""{"input":{"q":null}}""", "input.q must be a string, number or boolean")]
    [InlineData("""{"input":{"q":[1]}}""", "input.q must be a string, number or boolean")]
    [InlineData("""{"messages":{"role":"user"}}""", "messages must be an array")]
    [InlineData("""{"messages":[{"role":"user"}]}""", "needs both role and content")]
    [InlineData("""{"messages":[{"role":"tool","content":"x"}]}""", "role must be system, user or assistant")]
    [InlineData("""{"messages":[{"role":"user","content":5}]}""", "messages[0].content must be a string")]
    [InlineData("""{"input":{},"expected":5}""", "expected must be a string")]
    [InlineData("""{"input":{},"tags":"a;b"}""", "tags must be an array of strings")]
    [InlineData("""{"input":{},"tags":[1]}""", "tags[0] is a number")]
    [InlineData("""{"input":{},"id":true}""", "id must be a string")]
    [InlineData("""{"input":{},"prompt":"x"}""", "'prompt' is not a field")]
    [InlineData("""{"expected":"x"}""", "needs input (prompt variables) or messages")]
    [InlineData("""{"input":{"q":"\ud800"}}""", "unpaired UTF-16 surrogate")]
    public async Task Jsonl_WrongTypes_AreRefusedWithTheField(string line, string expected)
    {
        var result = await Jsonl(line);

        Assert.Empty(result.Items);
        Assert.Contains(expected, Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jsonl_DuplicateIds_AreAnErrorNamingBothLines()
    {
        var result = await Jsonl(Lines("""{"id":"x","input":{}}""", """{"id":"y","input":{}}""", """{"id":"x","input":{}}"""));

        var error = Assert.Single(result.Errors);
        Assert.Equal(3, error.Line);
        Assert.Contains("'x' is already used on line 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jsonl_AnExplicitIdEqualToAGeneratedOne_IsADuplicate()
    {
        var result = await Jsonl(Lines("""{"input":{}}""", """{"id":"item-1","input":{}}"""));

        Assert.Contains("already used on line 1", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Bounds => new()
    {
        { Item(id: new string('i', DatasetLimits.MaxIdLength + 1)), "id must be 1-128 characters" },
        { Item(input: string.Join(",", Enumerable.Range(0, DatasetLimits.MaxInputVariables + 1).Select(i => $"\"v{i}\":\"x\""))), "more than 64 variables" },
        { Item(input: $"\"{new string('n', DatasetLimits.MaxInputNameLength + 1)}\":\"x\""), "names must be 1-64 characters" },
        { Item(input: $"\"q\":\"{new string('x', DatasetLimits.MaxTextLength + 1)}\""), "input.q is 32001 characters long" },
        { Item(extra: $"\"expected\":\"{new string('x', DatasetLimits.MaxTextLength + 1)}\""), "expected is 32001 characters long" },
        { Item(extra: $"\"context\":\"{new string('x', DatasetLimits.MaxTextLength + 1)}\""), "context is 32001 characters long" },
        { Item(extra: $"\"messages\":[{string.Join(",", Enumerable.Repeat("{\"role\":\"user\",\"content\":\"x\"}", DatasetLimits.MaxMessages + 1))}]"), "messages has 101 items" },
        { Item(extra: $"\"tags\":[{string.Join(",", Enumerable.Range(0, DatasetLimits.MaxTags + 1).Select(i => $"\"t{i}\""))}]"), "tags has 21 tags" },
        { Item(extra: $"\"tags\":[\"{new string('t', DatasetLimits.MaxTagLength + 1)}\"]"), "tags must be 1-64 characters" },
        { Item(extra: $"\"split\":\"{new string('s', DatasetLimits.MaxTagLength + 1)}\""), "split must be 1-64 characters" },
        { new string('[', DatasetLimits.MaxJsonDepth + 1) + new string(']', DatasetLimits.MaxJsonDepth + 1), "depth" },
        {
            Item(input: string.Join(",", Enumerable.Range(0, 10).Select(i => $"\"v{i}\":\"{new string('x', DatasetLimits.MaxTextLength)}\""))),
            "the limit for one item is 262144"
        },
    };

    private static string Item(string? id = null, string input = "", string? extra = null) =>
        "{" + (id is null ? "" : $"\"id\":\"{id}\",") + $"\"input\":{{{input}}}" + (extra is null ? "" : "," + extra) + "}";

    [Theory]
    [MemberData(nameof(Bounds))]
    public async Task Jsonl_EveryBound_IsAClearLineError(string line, string expected)
    {
        var result = await Jsonl(Lines("""{"input":{"q":"fine"}}""", line));

        var error = Assert.Single(result.Errors);
        Assert.Equal(2, error.Line);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jsonl_MoreThanTheItemLimit_RefusesTheWholeBody_EvenWhenSkipping()
    {
        var text = new StringBuilder();
        for (var i = 0; i <= DatasetLimits.MaxItems; i++)
        {
            text.Append("{\"input\":{}}\n");
        }

        var result = await Jsonl(text.ToString());

        Assert.NotNull(result.Fatal);
        Assert.Equal(DatasetLimits.MaxItems + 1, result.Fatal!.Line);
        Assert.False(result.IsAccepted(skipInvalid: true));
        Assert.Contains("at most 100000 items", result.Refusal(skipInvalid: true), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SkipInvalid_CountsEveryBadLine_ListsTheFirst100_AndKeepsTheRestInOrder()
    {
        var text = new StringBuilder();
        for (var i = 1; i <= 300; i++)
        {
            text.Append(i % 2 == 0 ? "not json\n" : $"{{\"id\":\"i{i}\",\"input\":{{}}}}\n");
        }

        var result = await Jsonl(text.ToString());

        Assert.Equal(150, result.ErrorCount);
        Assert.Equal(DatasetLimits.ListedErrors, result.Errors.Count);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => i * 2), result.Errors.Select(e => e.Line));
        Assert.Equal(Enumerable.Range(0, 150).Select(i => $"i{(i * 2) + 1}"), result.Items.Select(i => i.Id));
        Assert.False(result.IsAccepted(skipInvalid: false));
        Assert.Contains("150 lines are invalid", result.Refusal(skipInvalid: false), StringComparison.Ordinal);
        Assert.True(result.IsAccepted(skipInvalid: true));
    }

    [Fact]
    public async Task Empty_BodyHoldsNoItem_AndIsRefused()
    {
        var result = await Jsonl("\n\n");

        Assert.False(result.IsAccepted(skipInvalid: true));
        Assert.Contains("no valid item", result.Refusal(skipInvalid: true), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csv_ValidRows_MapColumns_InputPrefixIsOptional_AndTagsSplitOnSemicolons()
    {
        var result = await Csv(Lines(
            "id,question,input.tone,expected,context,tags,split,messages",
            "a,Why?,warm,Because,ctx,t1; t2,test,",
            ",How?,,,,,,\"[{\"\"role\"\":\"\"user\"\",\"\"content\"\":\"\"hi\"\"}]\""));

        Assert.True(result.IsAccepted(skipInvalid: false), string.Join("; ", result.Errors));
        var a = result.Items[0];
        Assert.Equal("a", a.Id);
        Assert.Equal(new Dictionary<string, string> { ["question"] = "Why?", ["tone"] = "warm" }, a.Input);
        Assert.Equal(("Because", "ctx", "test"), (a.Expected, a.Context, a.Split));
        Assert.Equal(["t1", "t2"], a.Tags);
        Assert.Null(a.Messages);
        var b = result.Items[1];
        Assert.Equal("item-2", b.Id);
        Assert.Equal(new Dictionary<string, string> { ["question"] = "How?" }, b.Input);
        Assert.Equal([new DatasetMessage("user", "hi")], b.Messages);
        Assert.Null(b.Expected);
    }

    [Fact]
    public async Task Csv_QuotedCommasQuotesAndNewlines_AreValues_AndErrorsNameThePhysicalLineTheRecordStartsOn()
    {
        var result = await Csv("\uFEFFid,question,expected\r\n"
            + "a,\"one, two\",\"She said \"\"hi\"\"\"\r\n"
            + "b,\"line 1\r\nline 2\nline 3\",x\r\n"
            + "\r\n"
            + "c,\"q\",\r\n"
            + "c,dup,\r\n");

        Assert.Equal(["a", "b", "c"], result.Items.Select(i => i.Id));
        Assert.Equal("one, two", result.Items[0].Input!["question"]);
        Assert.Equal("She said \"hi\"", result.Items[0].Expected);
        Assert.Equal("line 1\r\nline 2\nline 3", result.Items[1].Input!["question"]);
        var duplicate = Assert.Single(result.Errors);
        Assert.Equal(8, duplicate.Line);
        Assert.Contains("already used on line 7", duplicate.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csv_WrongFieldCountsAndBadQuoting_AreLineErrors()
    {
        var result = await Csv(Lines("id,q", "a,1", "b,2,3", "c,x\"y", "d,4"));

        Assert.Equal(["a", "d"], result.Items.Select(i => i.Id));
        Assert.Equal([3, 4], result.Errors.Select(e => e.Line).Order());
    }

    [Fact]
    public async Task Csv_BadMessagesJson_AndBoundsPerRow_AreLineErrors()
    {
        var result = await Csv(Lines("q,messages,split", "1,not json,", $"2,,{new string('s', 65)}", "3,\"[{\"\"role\"\":\"\"bot\"\",\"\"content\"\":\"\"x\"\"}]\","));

        Assert.Empty(result.Items);
        Assert.Equal([2, 3, 4], result.Errors.Select(e => e.Line));
        Assert.Contains("messages must be a JSON array", result.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("split must be 1-64", result.Errors[1].Message, StringComparison.Ordinal);
        Assert.Contains("role must be system, user or assistant", result.Errors[2].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("id,q,q\n1,a,b\n", "appears twice")]
    [InlineData("id,,q\n1,a,b\n", "has no name")]
    [InlineData("q,input.q\n1,2\n", "appears twice")]
    [InlineData("", "empty")]
    public async Task Csv_BadHeader_RefusesTheWholeBody(string text, string expected)
    {
        var result = await Csv(text);

        Assert.NotNull(result.Fatal);
        Assert.Contains(expected, result.Fatal!.Message, StringComparison.Ordinal);
        Assert.False(result.IsAccepted(skipInvalid: true));
    }

    [Fact]
    public async Task Csv_TooManyInputColumns_RefusesTheWholeBody()
    {
        var header = string.Join(",", Enumerable.Range(0, DatasetLimits.MaxInputVariables + 1).Select(i => $"v{i}"));

        var result = await Csv(Lines(header, string.Join(",", Enumerable.Repeat("x", DatasetLimits.MaxInputVariables + 1))));

        Assert.Contains("65 input columns", result.Fatal!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csv_UnclosedQuote_IsAnErrorNotASwallowedFile()
    {
        var result = await Csv(Lines("id,q", "a,1", "b,\"never closed", "c,3", "d,4"));

        Assert.Equal(["a"], result.Items.Select(i => i.Id));
        Assert.Equal(3, Assert.Single(result.Errors).Line);
    }

    [Fact]
    public async Task Export_ThenImport_GivesTheSameItems_AndTheSameHash()
    {
        var source = await Jsonl(Lines(
            """{"id":"a","input":{"q":"é \"quoted\" <b>","n":2},"expected":"x\ny","tags":["t"],"split":"s"}""",
            """{"id":"b","messages":[{"role":"user","content":"hi"}],"context":"c"}"""));

        var again = await Jsonl(DatasetJsonLines.ToText(source.Items));

        Assert.True(DatasetPaging.SameItems(source.Items, again.Items));
        Assert.Equal(DatasetPaging.ContentHash(source.Items), DatasetPaging.ContentHash(again.Items));
        Assert.StartsWith("sha256:", DatasetPaging.ContentHash(source.Items), StringComparison.Ordinal);
    }

    [Fact]
    public void Paging_CutsAt500Items_OrBeforeAPageWouldPass512KB()
    {
        var small = Enumerable.Range(0, 1201).Select(i => new DatasetItem($"s{i}", new Dictionary<string, string> { ["q"] = "x" }, null, null, null, [], null)).ToList();
        var big = Enumerable.Range(0, 10).Select(i => new DatasetItem($"b{i}", new Dictionary<string, string> { ["q"] = new string('x', 200_000) }, null, null, null, [], null)).ToList();

        Assert.Equal([500, 500, 201], DatasetPaging.Split(small).Select(p => p.Count));
        var pages = DatasetPaging.Split(big);
        Assert.Equal([2, 2, 2, 2, 2], pages.Select(p => p.Count));
        Assert.All(pages, p => Assert.True(p.Sum(DatasetPaging.EstimateBytes) <= DatasetLimits.PageBytes));
    }
}
