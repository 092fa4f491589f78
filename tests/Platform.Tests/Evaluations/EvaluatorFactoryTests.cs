using Platform.Evaluations;
using Platform.Evaluations.Evaluators;

namespace Platform.Tests.Evaluations;

public sealed class EvaluatorFactoryTests
{
    public static TheoryData<EvaluatorSpec, int, string> Invalid => new()
    {
        { new EvaluatorSpec("r", EvaluatorKinds.Regex, Value: "(unclosed"), 2, "evaluators[2].value is not a valid regular expression: " },
        { new EvaluatorSpec("k", "foo"), 0, "evaluators[0].kind 'foo' is not one of exact_match, contains," },
        { new EvaluatorSpec("s", EvaluatorKinds.JsonSchema, Value: "{\"type\": "), 1, "evaluators[1].value is not a JSON schema: " },
        { new EvaluatorSpec("s", EvaluatorKinds.JsonSchema, Value: "{\"type\": 12}"), 1, "evaluators[1].value is not a JSON schema: " },
        { new EvaluatorSpec("s", EvaluatorKinds.JsonSchema), 1, "evaluators[1].value is required for kind 'json_schema'" },
        { new EvaluatorSpec("j", EvaluatorKinds.LlmJudge), 3, "evaluators[3].judgeRoute is required for kind 'llm_judge'" },
        { new EvaluatorSpec("g", EvaluatorKinds.Groundedness, UseJudge: true), 0, "evaluators[0].judgeRoute is required when useJudge" },
        {
            new EvaluatorSpec("l", EvaluatorKinds.Length, MinLength: 10, MaxLength: 5), 4,
            "evaluators[4].minLength (10) is greater than maxLength (5)"
        },
        { new EvaluatorSpec("l", EvaluatorKinds.Length), 0, "evaluators[0] of kind 'length' needs minLength, maxLength or both" },
        { new EvaluatorSpec("l", EvaluatorKinds.Length, MinLength: -1), 0, "evaluators[0].minLength must be from 0" },
        { new EvaluatorSpec("Bad Name", EvaluatorKinds.Pii), 0, "evaluators[0].name must be 1-64 characters" },
        { new EvaluatorSpec(new string('a', 65), EvaluatorKinds.Pii), 0, "evaluators[0].name must be 1-64 characters" },
        { new EvaluatorSpec("c", EvaluatorKinds.Contains), 0, "evaluators[0].value is required for kind 'contains'" },
        { new EvaluatorSpec("t", EvaluatorKinds.TokenF1, Threshold: 1.5), 0, "evaluators[0].threshold must be a number from 0 to 1" },
        { new EvaluatorSpec("t", EvaluatorKinds.TokenF1, Threshold: double.NaN), 0, "evaluators[0].threshold must be a number from 0 to 1" },
        { new EvaluatorSpec("r", EvaluatorKinds.Regex, Value: new string('a', 1_025)), 0, "evaluators[0].value must be at most 1024 characters" },
        {
            new EvaluatorSpec("s", EvaluatorKinds.JsonSchema, Value: "{\"description\": \"" + new string('x', 65_536) + "\"}"), 0,
            "evaluators[0].value must be at most 65536 characters"
        },
        { new EvaluatorSpec("j", EvaluatorKinds.LlmJudge, JudgeRoute: new string('r', 129)), 0, "evaluators[0].judgeRoute must be at most 128" },

        // JsonSchema.Net runs schema patterns with backtracking and no timeout: ^(a+)+$ on 40 a's and a '!' would take hours.
        {
            new EvaluatorSpec("s", EvaluatorKinds.JsonSchema, Value: """{"type":"object","properties":{"code":{"type":"string","pattern":"^(a+)+$"}}}"""), 2,
            "evaluators[2].value holds a regular expression at /properties/code/pattern; patterns inside a JSON schema run without a time limit"
        },
        {
            new EvaluatorSpec("s", EvaluatorKinds.JsonSchema, Value: """{"$defs":{"x":{"patternProperties":{"^(a|aa)+$":{}}}},"$ref":"#/$defs/x"}"""), 0,
            "evaluators[0].value holds a regular expression at /$defs/x/patternProperties;"
        },
        {
            new EvaluatorSpec("s", EvaluatorKinds.JsonSchema, Value: """{"prefixItems":[{"propertyNames":{"pattern":"(x+x+)+y"}}]}"""), 0,
            "evaluators[0].value holds a regular expression at /prefixItems/0/propertyNames/pattern;"
        },
    };

    [Fact]
    public void Validate_JsonSchemaWithoutRegularExpressions_IsAccepted_EvenWithFieldsOrDataNamedPattern()
    {
        // A property named "pattern", a definition named "patternProperties", and "pattern" inside enum, const and
        // examples are names and data, not regular expressions.
        var schema = """
            {"type":"object",
             "properties":{"pattern":{"type":"string","enum":[{"pattern":"(a+)+$"}]},"patternProperties":{"const":{"pattern":"x"}}},
             "$defs":{"patternProperties":{"type":"integer","examples":[{"pattern":"y"}]}},
             "patternProperties":{}}
            """;
        Assert.Null(EvaluatorFactory.Validate(new EvaluatorSpec("s", EvaluatorKinds.JsonSchema, Value: schema), 0));
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validate_RejectsSpecsThatCannotWork_NamingTheField(EvaluatorSpec spec, int index, string expected)
    {
        var error = EvaluatorFactory.Validate(spec, index);
        Assert.NotNull(error);
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", error, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => EvaluatorFactory.Create(spec));
    }

    [Fact]
    public void ValidateAll_AcceptsOneOfEachKind()
    {
        EvaluatorSpec[] specs =
        [
            new("exact", EvaluatorKinds.ExactMatch),
            new("contains", EvaluatorKinds.Contains, Value: "x"),
            new("not_contains", EvaluatorKinds.NotContains, Value: "x"),
            new("regex", EvaluatorKinds.Regex, Value: @"(\w+)\s\1"),
            new("json", EvaluatorKinds.ValidJson),
            new("schema", EvaluatorKinds.JsonSchema, Value: "{\"type\": \"object\"}"),
            new("length", EvaluatorKinds.Length, MaxLength: 10),
            new("f1", EvaluatorKinds.TokenF1),
            new("rouge", EvaluatorKinds.RougeL),
            new("judge", EvaluatorKinds.LlmJudge, JudgeRoute: "gpt", JudgePrompt: "rubric", JudgePromptVersion: "production"),
            new("grounded", EvaluatorKinds.Groundedness),
            new("pii", EvaluatorKinds.Pii),
            new("refusal.v2", EvaluatorKinds.Refusal, ExpectRefusal: true),
        ];
        Assert.Null(EvaluatorFactory.ValidateAll(specs));
        Assert.Equal(EvaluatorKinds.All.Count, specs.Length);
        Assert.All(specs, s => Assert.Equal([s.Name], EvaluatorFactory.Create(s).EvaluationMetricNames));
    }

    [Fact]
    public void ValidateAll_RejectsDuplicateNamesAndTooManyEvaluators()
    {
        EvaluatorSpec[] duplicate = [new("a", EvaluatorKinds.Pii), new("b", EvaluatorKinds.Pii), new("a", EvaluatorKinds.Refusal)];
        Assert.Equal(
            "evaluators[2].name 'a' is already used by evaluators[0]; names must be unique",
            EvaluatorFactory.ValidateAll(duplicate));

        var many = Enumerable.Range(0, 21).Select(i => new EvaluatorSpec("e" + i, EvaluatorKinds.Pii)).ToList();
        Assert.Equal("evaluators has 21 entries; at most 20 are allowed", EvaluatorFactory.ValidateAll(many));
        Assert.Null(EvaluatorFactory.ValidateAll(many.Take(20).ToList()));

        EvaluatorSpec[] secondBad = [new("a", EvaluatorKinds.Pii), new("b", EvaluatorKinds.Regex, Value: "[")];
        Assert.StartsWith("evaluators[1].value", EvaluatorFactory.ValidateAll(secondBad), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(EvaluatorKinds.ExactMatch, 1.0)]
    [InlineData(EvaluatorKinds.Pii, 1.0)]
    [InlineData(EvaluatorKinds.TokenF1, 0.5)]
    [InlineData(EvaluatorKinds.RougeL, 0.5)]
    [InlineData(EvaluatorKinds.Groundedness, 0.8)]
    [InlineData(EvaluatorKinds.LlmJudge, 0.6)]
    public void DefaultThresholds_ArePerKind(string kind, double threshold) =>
        Assert.Equal(threshold, new EvaluatorSpec("x", kind).EffectiveThreshold);
}
