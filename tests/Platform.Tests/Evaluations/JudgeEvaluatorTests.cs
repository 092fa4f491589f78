using Microsoft.Extensions.AI;
using Platform.Evaluations;
using Platform.Evaluations.Evaluators;
using static Platform.Tests.Evaluations.EvaluatorHarness;

namespace Platform.Tests.Evaluations;

public sealed class JudgeEvaluatorTests
{
    private static readonly EvaluatorSpec Spec = new("helpful", EvaluatorKinds.LlmJudge, JudgeRoute: "judge-model", JudgePrompt: "rubric");

    [Fact]
    public async Task Judge_WithGoodJson_NormalizesTheScore_AndSendsRubricAndSchema()
    {
        var judge = new FakeJudge("""{"score": 4, "reasoning": "Correct but terse."}""");
        var (score, passed, reason) = await RunAsync(
            Spec, "Paris", expected: "Paris, France", context: "France's capital is Paris.", judge: judge,
            input: "Capital of France?", rubric: "Grade geography answers.");

        Assert.Equal(0.75, score); // (4 - 1) / 4
        Assert.True(passed); // default threshold 0.6
        Assert.Contains("Correct but terse.", reason, StringComparison.Ordinal);

        var (messages, options) = Assert.Single(judge.Calls);
        Assert.StartsWith("Grade geography answers.", messages[0].Text, StringComparison.Ordinal);
        var user = messages[1].Text;
        Assert.Contains("Capital of France?", user, StringComparison.Ordinal);
        Assert.Contains("## Response\nParis", user, StringComparison.Ordinal);
        Assert.Contains("Paris, France", user, StringComparison.Ordinal);
        Assert.Contains("France's capital is Paris.", user, StringComparison.Ordinal);
        var format = Assert.IsType<ChatResponseFormatJson>(options?.ResponseFormat);
        Assert.Contains("reasoning", format.Schema!.Value.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Judge_WithFencedJsonAndChatter_IsParsed()
    {
        var judge = new FakeJudge("Here is my grade:\n```json\n{\"score\": 2, \"reasoning\": \"Mostly wrong.\"}\n```\nThanks!");
        var (score, passed, reason) = await RunAsync(Spec, "Lyon", judge: judge);
        Assert.Equal(0.25, score);
        Assert.False(passed);
        Assert.Contains("Mostly wrong.", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("I think it is pretty good.", "not JSON")]
    [InlineData("{\"score\": 9, \"reasoning\": \"great\"}", "not a number from 1 to 5")]
    [InlineData("{\"grade\": 5}", "no score")]
    [InlineData("{\"score\": 4, \"reasoning\": }", "not valid JSON")]
    public async Task Judge_WithUnusableAnswer_HasNoScoreAndSaysWhy(string answer, string expected)
    {
        var (score, passed, reason) = await RunAsync(Spec, "Paris", judge: new FakeJudge(answer));
        Assert.Null(score);
        Assert.False(passed);
        Assert.Contains(expected, reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Judge_ThatThrows_HasNoScore_NeverThrows()
    {
        var judge = new FakeJudge(_ => throw new HttpRequestException("upstream returned 503"));
        var (score, passed, reason) = await RunAsync(Spec, "Paris", judge: judge);
        Assert.Null(score);
        Assert.False(passed);
        Assert.Contains("the judge call failed: upstream returned 503", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Judge_WhenTheRunIsCancelled_Throws()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var evaluator = EvaluatorFactory.Create(Spec);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await evaluator.EvaluateAsync(
            [new ChatMessage(ChatRole.User, "q")], new ChatResponse(new ChatMessage(ChatRole.Assistant, "a")),
            new Microsoft.Extensions.AI.Evaluation.ChatConfiguration(new FakeJudge("{\"score\": 5}")), null, cts.Token));
    }

    [Fact]
    public async Task Judge_WithoutChatConfiguration_HasNoScore()
    {
        var (score, _, reason) = await RunAsync(Spec, "Paris");
        Assert.Null(score);
        Assert.Contains("no judge", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Judge_WithoutRubric_UsesTheBuiltInOne()
    {
        var judge = new FakeJudge("""{"score": 5, "reasoning": "ok"}""");
        Assert.Equal(1.0, (await RunAsync(Spec, "Paris", judge: judge)).Score);
        Assert.StartsWith(LlmJudgeEvaluator.DefaultRubric, judge.Calls[0].Messages[0].Text, StringComparison.Ordinal);
    }

    private const string Context =
        "The Eiffel Tower was completed in 1889. It is 330 metres tall. Gustave Eiffel's company designed and built it.";

    [Fact]
    public async Task Groundedness_CountsSupportedSentences_AndListsTheOthers()
    {
        var spec = new EvaluatorSpec("grounded", EvaluatorKinds.Groundedness);
        const string Output = "The Eiffel Tower was completed in 1889. It is 330 metres tall. It was painted gold by Napoleon.";
        var (score, passed, reason) = await RunAsync(spec, Output, context: Context);

        Assert.Equal(2.0 / 3, score!.Value, 9);
        Assert.False(passed); // default threshold 0.8
        Assert.Contains("2 of 3 sentences", reason, StringComparison.Ordinal);
        Assert.Contains("'It was painted gold by Napoleon.'", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("1889", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Groundedness_FullySupportedParaphraseOfContextWords_Passes()
    {
        var spec = new EvaluatorSpec("grounded", EvaluatorKinds.Groundedness);
        var (score, passed, reason) = await RunAsync(
            spec, "Sure! The tower is 330 metres tall. Eiffel's company built it.", context: Context);
        Assert.True(score == 1.0, reason);
        Assert.True(passed);
    }

    [Fact]
    public async Task Groundedness_WithoutContext_HasNoScore()
    {
        var (score, passed, reason) = await RunAsync(new EvaluatorSpec("grounded", EvaluatorKinds.Groundedness), "Anything.");
        Assert.Null(score);
        Assert.False(passed);
        Assert.Contains("no reference context", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Groundedness_WithJudge_AsksOnlyAboutLexicallyUnsupportedSentences()
    {
        var spec = new EvaluatorSpec("grounded", EvaluatorKinds.Groundedness, JudgeRoute: "judge-model", UseJudge: true);
        var judge = new FakeJudge("""{"supported": [1]}""");
        const string Output = "It is 330 metres tall. The structure dates from the nineteenth century. It was painted gold by Napoleon.";
        var (score, _, reason) = await RunAsync(spec, Output, context: Context, judge: judge);

        var (messages, _) = Assert.Single(judge.Calls);
        var asked = messages[1].Text;
        Assert.Contains("1. The structure dates from the nineteenth century.", asked, StringComparison.Ordinal);
        Assert.Contains("2. It was painted gold by Napoleon.", asked, StringComparison.Ordinal);
        Assert.DoesNotContain("330 metres tall.\n", asked.Split("## Claims")[1], StringComparison.Ordinal);
        Assert.Equal(2.0 / 3, score!.Value, 9);
        Assert.Contains("Napoleon", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("nineteenth", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Groundedness_WhenTheJudgeFails_KeepsTheLexicalScore()
    {
        var spec = new EvaluatorSpec("grounded", EvaluatorKinds.Groundedness, JudgeRoute: "judge-model", UseJudge: true);
        var judge = new FakeJudge(_ => throw new InvalidOperationException("boom"));
        var (score, _, reason) = await RunAsync(spec, "It is 330 metres tall. It was painted gold.", context: Context, judge: judge);
        Assert.Equal(0.5, score);
        Assert.Contains("lexical check only", reason, StringComparison.Ordinal);
    }
}
