using Platform.Evaluations;
using Platform.Evaluations.Evaluators;
using static Platform.Tests.Evaluations.EvaluatorHarness;

namespace Platform.Tests.Evaluations;

public sealed class DeterministicEvaluatorTests
{
    [Fact]
    public async Task ExactMatch_TrimsAndHonoursIgnoreCase()
    {
        var strict = new EvaluatorSpec("exact", EvaluatorKinds.ExactMatch);
        Assert.Equal((1.0, true), Pick(await RunAsync(strict, "  Paris \n", expected: "Paris")));
        Assert.Equal((0.0, false), Pick(await RunAsync(strict, "paris", expected: "Paris")));

        var loose = strict with { IgnoreCase = true };
        Assert.Equal((1.0, true), Pick(await RunAsync(loose, "paris", expected: "PARIS")));
    }

    [Fact]
    public async Task ExactMatch_WithoutExpectedOutput_HasNoScoreAndSaysWhy()
    {
        var (score, passed, reason) = await RunAsync(new EvaluatorSpec("exact", EvaluatorKinds.ExactMatch), "Paris");
        Assert.Null(score);
        Assert.False(passed);
        Assert.Contains("no expected output", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ContainsAndNotContains_AreOpposites()
    {
        var contains = new EvaluatorSpec("has_refund", EvaluatorKinds.Contains, Value: "refund", IgnoreCase: true);
        var notContains = contains with { Name = "no_refund", Kind = EvaluatorKinds.NotContains };
        const string Output = "You can ask for a REFUND within 30 days.";

        Assert.Equal((1.0, true), Pick(await RunAsync(contains, Output)));
        Assert.Equal((0.0, false), Pick(await RunAsync(notContains, Output)));
        Assert.Equal((0.0, false), Pick(await RunAsync(contains, "No money back.")));
        Assert.Equal((1.0, true), Pick(await RunAsync(notContains, "No money back.")));
        Assert.Equal((0.0, false), Pick(await RunAsync(contains with { IgnoreCase = false }, Output)));
    }

    [Fact]
    public async Task Regex_MatchesAnywhereInTheOutput()
    {
        var spec = new EvaluatorSpec("order_id", EvaluatorKinds.Regex, Value: @"ORD-\d{6}");
        Assert.Equal((1.0, true), Pick(await RunAsync(spec, "Your order ORD-123456 has shipped.")));
        Assert.Equal((0.0, false), Pick(await RunAsync(spec, "Your order ORD-12 has shipped.")));
        Assert.Equal((1.0, true), Pick(await RunAsync(spec with { IgnoreCase = true }, "order ord-654321")));
    }

    [Fact]
    public async Task Regex_CatastrophicPattern_RunsWithoutBacktracking_AndDoesNotHang()
    {
        // ^(a+)+$ against "aaaa...ab" takes exponential time in a backtracking engine; NonBacktracking is linear.
        var spec = new EvaluatorSpec("evil", EvaluatorKinds.Regex, Value: "^(a+)+$");
        Assert.True(((RegexEvaluator)EvaluatorFactory.Create(spec)).IsLinear);

        var (score, passed, reason) = await RunAsync(spec, new string('a', 50_000) + "b");
        Assert.Equal(0.0, score);
        Assert.False(passed);
        Assert.Contains("does not match", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Regex_CatastrophicPatternNeedingBacktracking_TimesOutAndScoresZero()
    {
        // A backreference rules NonBacktracking out; the nested quantifier makes the match exponential: the
        // 100 ms match timeout stops it and the item scores 0 with a reason instead of hanging or throwing.
        var spec = new EvaluatorSpec("evil_backref", EvaluatorKinds.Regex, Value: @"^(a|a?)+\1b$");
        Assert.False(((RegexEvaluator)EvaluatorFactory.Create(spec)).IsLinear);

        var (score, passed, reason) = await RunAsync(spec, new string('a', 5_000) + "c");
        Assert.Equal(0.0, score);
        Assert.False(passed);
        Assert.Contains("took longer than 100 ms", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidJson_AcceptsJsonAndRejectsTextAndDeepNesting()
    {
        var spec = new EvaluatorSpec("json", EvaluatorKinds.ValidJson);
        Assert.Equal((1.0, true), Pick(await RunAsync(spec, " {\"a\": [1, 2, {\"b\": null}]} ")));
        Assert.Equal((0.0, false), Pick(await RunAsync(spec, "{\"a\": 1,}")));
        Assert.Equal((0.0, false), Pick(await RunAsync(spec, "Sure! {\"a\": 1}")));

        var deep = new string('[', 65) + new string(']', 65);
        var (score, _, reason) = await RunAsync(spec, deep);
        Assert.Equal(0.0, score);
        Assert.Contains("depth", reason, StringComparison.OrdinalIgnoreCase);
    }

    private const string PersonSchema = """
        {
          "type": "object",
          "properties": { "name": { "type": "string" }, "age": { "type": "integer", "minimum": 0 } },
          "required": ["name", "age"]
        }
        """;

    [Fact]
    public async Task JsonSchema_ValidatesAndListsTheErrors()
    {
        var spec = new EvaluatorSpec("person", EvaluatorKinds.JsonSchema, Value: PersonSchema);
        Assert.Equal((1.0, true), Pick(await RunAsync(spec, """{"name": "Ada", "age": 36}""")));

        var (score, passed, reason) = await RunAsync(spec, """{"name": 7, "age": -1}""");
        Assert.Equal(0.0, score);
        Assert.False(passed);
        Assert.Contains("/name", reason, StringComparison.Ordinal);
        Assert.Contains("/age", reason, StringComparison.Ordinal);

        var (missingScore, _, missingReason) = await RunAsync(spec, """{"name": "Ada"}""");
        Assert.Equal(0.0, missingScore);
        Assert.Contains("age", missingReason, StringComparison.Ordinal);

        var (textScore, _, textReason) = await RunAsync(spec, "Ada, 36");
        Assert.Equal(0.0, textScore);
        Assert.Contains("not valid JSON", textReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Hello there", 0.0, "starts with 'H'")]
    [InlineData("   ", 0.0, "it is empty")]
    [InlineData("nope", 0.0, "not valid JSON")]
    [InlineData(" \n [1, 2]", 1.0, "an array")]
    [InlineData("-3.5", 1.0, "a number")]
    [InlineData("null", 1.0, "null")]
    public async Task ValidJson_ProseIsRejectedByItsFirstCharacter_AndEveryJsonStartStillParses(string output, double expected, string because)
    {
        var (score, _, reason) = await RunAsync(new EvaluatorSpec("j", EvaluatorKinds.ValidJson), output);
        Assert.Equal(expected, score);
        Assert.Contains(because, reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonSchema_WithTheSameIdTwice_BuildsEachTime()
    {
        // Schemas are built in their own registry: a second run with the same $id must not clash with the first.
        var schema = """{"$id": "https://example.com/s", "type": "string"}""";
        var spec = new EvaluatorSpec("s", EvaluatorKinds.JsonSchema, Value: schema);
        Assert.Equal((1.0, true), Pick(await RunAsync(spec, "\"x\"")));
        Assert.Equal((0.0, false), Pick(await RunAsync(spec, "1")));
    }

    [Fact]
    public async Task JsonSchema_OnAStringThatIsNotUnicode_HasNoScoreAndSaysWhy_InsteadOfThrowing()
    {
        // Valid JSON text, but the escaped lone surrogate cannot be read as a .NET string, which minLength needs.
        var spec = new EvaluatorSpec("s", EvaluatorKinds.JsonSchema, Value: """{"properties":{"a":{"type":"string","minLength":1}}}""");
        var (score, passed, reason) = await RunAsync(spec, """{"a":"\ud800"}""");
        Assert.Null(score);
        Assert.False(passed);
        Assert.StartsWith("the output could not be scored: ", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Length_ChecksBothBoundsOnTheWholeOutput()
    {
        var spec = new EvaluatorSpec("len", EvaluatorKinds.Length, MinLength: 5, MaxLength: 10);
        Assert.Equal((1.0, true), Pick(await RunAsync(spec, "12345")));
        Assert.Equal((1.0, true), Pick(await RunAsync(spec, "1234567890")));
        Assert.Equal((0.0, false), Pick(await RunAsync(spec, "1234")));
        Assert.Equal((0.0, false), Pick(await RunAsync(spec, "12345678901")));

        var atMost = new EvaluatorSpec("short", EvaluatorKinds.Length, MaxLength: 150_000);
        var (score, _, reason) = await RunAsync(atMost, new string('x', 200_000));
        Assert.Equal(0.0, score);
        Assert.Contains("200000 characters", reason, StringComparison.Ordinal);
    }

    // Worked examples. SQuAD normalization drops punctuation and the articles a/an/the, so
    //   reference "the cat sat on the mat" -> [cat, sat, on, mat]   candidate "the cat lay on the mat" -> [cat, lay, on, mat]
    //   F1: common multiset {cat, on, mat} = 3; precision 3/4, recall 3/4 -> F1 = 0.75
    //   ROUGE-L: LCS cat-on-mat = 3; P = R = 3/4 -> F = 0.75
    // Order matters to ROUGE-L but not to F1:
    //   reference [cat, sat, on, mat], candidate "on the mat the cat sat" -> [on, mat, cat, sat]
    //   F1: common 4 -> P = R = 1 -> 1.0;  ROUGE-L: LCS "cat sat" (or "on mat") = 2 -> P = R = 1/2 -> F = 0.5
    // Unequal lengths: reference "The quick brown fox jumps." -> [quick, brown, fox, jumps] (4),
    //   candidate "A quick fox!" -> [quick, fox] (2): common 2, P = 2/2 = 1, R = 2/4 = 0.5
    //   F1 = 2 * 1 * 0.5 / 1.5 = 2/3; ROUGE-L LCS "quick fox" = 2 -> the same 2/3
    // Repeated tokens count once each (multiset): reference "yes yes no" [yes, yes, no], candidate "yes yes yes" [yes, yes, yes]
    //   F1: common = min(3,2) yes = 2; P = 2/3, R = 2/3 -> 2/3; ROUGE-L: LCS "yes yes" = 2 -> 2/3
    [Theory]
    [InlineData("the cat lay on the mat", "the cat sat on the mat", 0.75, 0.75)]
    [InlineData("on the mat the cat sat", "the cat sat on the mat", 1.0, 0.5)]
    [InlineData("A quick fox!", "The quick brown fox jumps.", 2.0 / 3, 2.0 / 3)]
    [InlineData("yes yes yes", "yes yes no", 2.0 / 3, 2.0 / 3)]
    [InlineData("Paris.", "paris", 1.0, 1.0)]
    [InlineData("London", "Paris", 0.0, 0.0)]
    public async Task TokenF1AndRougeL_MatchWorkedExamples(string candidate, string reference, double f1, double rouge)
    {
        var (f1Score, _, _) = await RunAsync(new EvaluatorSpec("f1", EvaluatorKinds.TokenF1), candidate, expected: reference);
        var (rougeScore, _, _) = await RunAsync(new EvaluatorSpec("rouge", EvaluatorKinds.RougeL), candidate, expected: reference);
        Assert.Equal(f1, f1Score!.Value, 9);
        Assert.Equal(rouge, rougeScore!.Value, 9);
    }

    [Fact]
    public async Task TokenF1_PassesAtTheDefaultThresholdOfOneHalf()
    {
        var spec = new EvaluatorSpec("f1", EvaluatorKinds.TokenF1);
        Assert.Equal(0.5, spec.EffectiveThreshold);
        Assert.True((await RunAsync(spec, "the cat lay on the mat", expected: "the cat sat on the mat")).Passed);
        Assert.False((await RunAsync(spec, "a dog", expected: "the cat sat on the mat")).Passed);
        Assert.False((await RunAsync(spec with { Threshold = 0.8 }, "the cat lay on the mat", expected: "the cat sat on the mat")).Passed);
    }

    [Fact]
    public async Task RougeL_OnLongTexts_CutsTheTokensAndSaysSo()
    {
        var text = string.Join(' ', Enumerable.Range(0, 5_000).Select(i => "w" + i));
        var (score, _, reason) = await RunAsync(new EvaluatorSpec("rouge", EvaluatorKinds.RougeL), text, expected: text);
        Assert.Equal(1.0, score);
        Assert.Contains("first 2000 tokens", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenOverlap_WithoutExpectedOutput_HasNoScore()
    {
        var (score, passed, reason) = await RunAsync(new EvaluatorSpec("rouge", EvaluatorKinds.RougeL), "anything");
        Assert.Null(score);
        Assert.False(passed);
        Assert.Contains("no expected output", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonSchema_WithMetaSchemaDeclared_Works_AndRemoteRefIsNeverFetched()
    {
        var declared = new EvaluatorSpec("s", EvaluatorKinds.JsonSchema,
            Value: """{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "integer"}""");
        Assert.Null(EvaluatorFactory.Validate(declared, 0));
        Assert.Equal((1.0, true), Pick(await RunAsync(declared, "42")));

        var remote = new EvaluatorSpec("s", EvaluatorKinds.JsonSchema, Value: """{"$ref": "https://example.invalid/other.json"}""");
        if (EvaluatorFactory.Validate(remote, 0) is { } error)
        {
            Assert.StartsWith("evaluators[0].value is not a JSON schema: ", error, StringComparison.Ordinal);
        }
        else
        {
            var (score, passed, _) = await RunAsync(remote, "{}");
            Assert.Null(score);
            Assert.False(passed);
        }
    }

    [Fact]
    public async Task EveryKind_OnHostileSizedInput_ReturnsAResultWithoutThrowing()
    {
        // 1,000,000 characters of words, digits, punctuation and no sentence breaks; each evaluator looks at
        // most at 100,000 characters (ROUGE-L at 2,000 tokens a side) and must answer rather than hang or throw.
        var chunk = "aaaa 1111 2222 3333 4444 x@y, +1 (((( [[[[ {\"k\": ";
        var huge = string.Concat(Enumerable.Repeat(chunk, 1_000_000 / chunk.Length));
        EvaluatorSpec[] specs =
        [
            new("exact", EvaluatorKinds.ExactMatch),
            new("contains", EvaluatorKinds.Contains, Value: "zzz"),
            new("regex", EvaluatorKinds.Regex, Value: "(a+)+$"),
            new("json", EvaluatorKinds.ValidJson),
            new("schema", EvaluatorKinds.JsonSchema, Value: "{\"type\": \"object\"}"),
            new("length", EvaluatorKinds.Length, MaxLength: 10),
            new("f1", EvaluatorKinds.TokenF1),
            new("rouge", EvaluatorKinds.RougeL),
            new("grounded", EvaluatorKinds.Groundedness),
            new("pii", EvaluatorKinds.Pii),
            new("refusal", EvaluatorKinds.Refusal),
        ];
        foreach (var spec in specs)
        {
            var (score, _, reason) = await RunAsync(spec, huge, expected: huge, context: huge);
            Assert.True(reason is { Length: > 0 and <= EvaluatorLimits.MaxReasonChars + 3 }, spec.Kind);
            if (spec.Kind == EvaluatorKinds.RougeL)
            {
                Assert.Contains("first 2000 tokens", reason, StringComparison.Ordinal);
            }

            if (spec.Kind is EvaluatorKinds.ValidJson or EvaluatorKinds.JsonSchema or EvaluatorKinds.Length)
            {
                Assert.Equal(0.0, score);
            }
        }
    }

    private static (double Score, bool Passed) Pick((double? Score, bool Passed, string? Reason) r) => (r.Score ?? double.NaN, r.Passed);
}
