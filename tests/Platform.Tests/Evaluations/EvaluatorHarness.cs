using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;
using Platform.Evaluations;
using Platform.Evaluations.Evaluators;

namespace Platform.Tests.Evaluations;

/// <summary>Runs one evaluator the way the run grain does: request messages, the output as a response, contexts.</summary>
internal static class EvaluatorHarness
{
    public static async Task<(double? Score, bool Passed, string? Reason)> RunAsync(
        EvaluatorSpec spec, string output, string? expected = null, string? context = null,
        IChatClient? judge = null, string input = "What is the answer?", string? rubric = null)
    {
        var evaluator = EvaluatorFactory.Create(spec, rubric);
        var contexts = new List<EvaluationContext>();
        if (expected is not null)
        {
            contexts.Add(new ExpectedOutputContext(expected));
        }

        if (context is not null)
        {
            contexts.Add(new ReferenceContext(context));
        }

        var result = await evaluator.EvaluateAsync(
            [new ChatMessage(ChatRole.User, input)],
            new ChatResponse(new ChatMessage(ChatRole.Assistant, output)),
            judge is null ? null : new ChatConfiguration(judge),
            contexts);
        Assert.Equal([spec.Name], evaluator.EvaluationMetricNames);
        return EvaluatorScore.Read(result, spec.Name);
    }
}

/// <summary>A judge that answers with a fixed text (or throws), recording what it was asked.</summary>
internal sealed class FakeJudge(Func<IEnumerable<ChatMessage>, string> answer) : IChatClient
{
    public List<(List<ChatMessage> Messages, ChatOptions? Options)> Calls { get; } = [];

    public FakeJudge(string answer) : this(_ => answer)
    {
    }

    public Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var list = messages.ToList();
        Calls.Add((list, options));
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, answer(list)))
        {
            Usage = new UsageDetails { InputTokenCount = 100, OutputTokenCount = 20 },
        };
        return Task.FromResult(response);
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
