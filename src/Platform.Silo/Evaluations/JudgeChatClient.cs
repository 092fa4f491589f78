using Microsoft.Extensions.AI;
using Platform.Deployments;
using Platform.Silo.Auth;
using Platform.Silo.Gateway;

namespace Platform.Silo.Evaluations;

/// <summary>
/// The judge as an <see cref="IChatClient"/> for one evaluator: each call goes through the gateway's pipeline on the
/// evaluator's judge route (admitted on the tenant's budgets and settled like any request), and its cost is added to
/// <paramref name="costs"/>, apart from the item's.
/// </summary>
public sealed class JudgeChatClient(ChatPipeline pipeline, Caller caller, string route, JudgeCosts costs) : IChatClient
{
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = new GatewayRequest(route, [.. messages], options?.Clone() ?? new ChatOptions(), false, false, null);
        var (response, usage, _) = await EvaluationItemRunner.CallAsync(pipeline, caller, new Release(route), request, cancellationToken);
        costs.Add(EvaluationItemRunner.NanoUsd(usage.CostUsd));
        return response;
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("Judges are called without streaming.");

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}

/// <summary>The judges' cost of one item, in nano-USD.</summary>
public sealed class JudgeCosts
{
    private long _nanoUsd;

    public long NanoUsd => Interlocked.Read(ref _nanoUsd);

    public void Add(long nanoUsd) => Interlocked.Add(ref _nanoUsd, nanoUsd);
}
