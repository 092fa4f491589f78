using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using Platform.Gateway;
using Platform.Providers.Tokens;

namespace Platform.Providers.Simulated;

/// <summary>
/// A built-in model with no network: its latency, failures, output and quality are functions of the
/// request's messages and seed, so the same input gives the same outcome. Used offline, in load tests
/// and in rollback tests.
/// </summary>
public sealed class SimulatedChatClient(string modelId, SimulatedModelOptions model) : IChatClient
{
    public const string QualityProperty = "platform.quality";

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var plan = Plan(list, options);
        await DelayAsync(plan.Latency, cancellationToken).ConfigureAwait(false);
        plan.ThrowIfFailing();

        var text = plan.Text();
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            ResponseId = plan.ResponseId,
            ModelId = modelId,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = plan.FinishReason,
            Usage = new UsageDetails
            {
                InputTokenCount = TokenCounter.CountPrompt(list),
                OutputTokenCount = TokenCounter.Count(text),
                TotalTokenCount = TokenCounter.CountPrompt(list) + TokenCounter.Count(text),
            },
            AdditionalProperties = new AdditionalPropertiesDictionary { [QualityProperty] = plan.Quality },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var plan = Plan(list, options);
        await DelayAsync(plan.Latency, cancellationToken).ConfigureAwait(false);
        plan.ThrowIfFailing();

        var output = 0;
        for (var i = 0; i < plan.WordCount; i++)
        {
            var piece = (i == 0 ? "" : " ") + plan.Word(i);
            output += TokenCounter.Count(piece);
            yield return new ChatResponseUpdate(ChatRole.Assistant, piece) { ResponseId = plan.ResponseId, ModelId = modelId };
        }

        var input = TokenCounter.CountPrompt(list);
        yield return new ChatResponseUpdate
        {
            ResponseId = plan.ResponseId,
            ModelId = modelId,
            FinishReason = plan.FinishReason,
            Contents = [new UsageContent(new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output })],
            AdditionalProperties = new AdditionalPropertiesDictionary { [QualityProperty] = plan.Quality },
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private Plan Plan(IReadOnlyList<ChatMessage> messages, ChatOptions? options)
    {
        // Not HashCode (randomised per process): outcomes must be the same on every silo and after restarts.
        var seed = StableHash(messages, model.Seed, options?.Seed ?? 0);
        var random = new Random(seed);
        var latency = model.LatencyMilliseconds <= 0
            ? TimeSpan.Zero
            : TimeSpan.FromMilliseconds(model.LatencyMilliseconds * Math.Exp(model.LatencySpread * Gaussian(random)));
        var fails = random.NextDouble() < model.ErrorRate;
        var quality = Math.Clamp(model.Quality + 0.05 * Gaussian(random), 0, 1);
        var maxWords = options?.MaxOutputTokens is { } max ? Math.Max(1, max) : int.MaxValue;
        var words = Math.Min(model.OutputWords, maxWords);
        return new Plan(seed, latency, fails, quality, words, words < model.OutputWords ? ChatFinishReason.Length : ChatFinishReason.Stop);
    }

    private static int StableHash(IReadOnlyList<ChatMessage> messages, int seed, long requestSeed)
    {
        var hash = Fnv1a.Offset ^ (uint)seed ^ (uint)requestSeed;
        foreach (var message in messages)
        {
            hash = Fnv1a.Append(Fnv1a.Append(Fnv1a.Append(Fnv1a.Append(hash, message.Role.Value), '\u0001'), message.Text), '\u0002');
        }

        return (int)(hash & 0x7fffffff);
    }

    private static double Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static Task DelayAsync(TimeSpan latency, CancellationToken cancellationToken) =>
        latency <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(latency, cancellationToken);
}

internal readonly record struct Plan(int Seed, TimeSpan Latency, bool Fails, double Quality, int WordCount, ChatFinishReason FinishReason)
{
    private static readonly string[] Vocabulary =
    [
        "the", "platform", "routes", "each", "request", "through", "a", "release", "and", "measures", "latency",
        "cost", "quality", "so", "that", "regressions", "roll", "back", "quickly", "while", "users", "see",
        "stable", "answers", "from", "every", "silo", "in", "cluster", "with", "tokens", "counted",
    ];

    public string ResponseId => $"chatcmpl-sim{Seed:x8}";

    public string Word(int index) => Vocabulary[(int)((uint)(Seed + index * 7919) % (uint)Vocabulary.Length)];

    public string Text()
    {
        var builder = new StringBuilder(WordCount * 8);
        for (var i = 0; i < WordCount; i++)
        {
            if (i > 0)
            {
                builder.Append(' ');
            }

            builder.Append(Word(i));
        }

        return builder.ToString();
    }

    public void ThrowIfFailing()
    {
        if (Fails)
        {
            throw new SimulatedProviderException("The simulated model failed this request (configured error rate).");
        }
    }
}

/// <summary>A failure of the simulated provider; treated like an upstream 500.</summary>
public sealed class SimulatedProviderException(string message) : Exception(message);
