using Microsoft.Extensions.AI.Evaluation;

namespace Platform.Evaluations.Evaluators;

/// <summary>The item's expected output, for exact_match, token_f1, rouge_l and the judge.</summary>
public sealed class ExpectedOutputContext(string expectedOutput) : EvaluationContext(ContextName, expectedOutput)
{
    public const string ContextName = "Expected output";

    public string ExpectedOutput { get; } = expectedOutput;
}

/// <summary>The item's reference context (retrieved documents, facts), for groundedness and the judge.</summary>
public sealed class ReferenceContext(string context) : EvaluationContext(ContextName, context)
{
    public const string ContextName = "Reference context";

    public string Context { get; } = context;
}
