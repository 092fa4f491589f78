using Microsoft.Extensions.AI;
using Platform.Gateway;
using Platform.Providers.Tokens;

namespace Platform.Providers.Simulated;

/// <summary>Deterministic unit vectors from each input's text and the route's seed; the same text gives the same vector.</summary>
public sealed class SimulatedEmbeddingGenerator(string modelId, SimulatedModelOptions model) : IEmbeddingGenerator<string, Embedding<float>>
{
    public const int DefaultDimensions = 256;

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var dimensions = options?.Dimensions ?? DefaultDimensions;
        var result = new GeneratedEmbeddings<Embedding<float>>();
        long tokens = 0;
        foreach (var value in values)
        {
            tokens += TokenCounter.Count(value);
            result.Add(new Embedding<float>(Vector(value, dimensions)) { ModelId = modelId, CreatedAt = DateTimeOffset.UtcNow });
        }

        result.Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens };
        return Task.FromResult(result);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private float[] Vector(string text, int dimensions)
    {
        var hash = Fnv1a.Append(Fnv1a.Offset ^ (uint)model.Seed, text);

        var random = new Random((int)(hash & 0x7fffffff));
        var vector = new float[dimensions];
        double norm = 0;
        for (var i = 0; i < dimensions; i++)
        {
            vector[i] = (float)(random.NextDouble() * 2 - 1);
            norm += vector[i] * vector[i];
        }

        var scale = (float)(1 / Math.Sqrt(norm));
        for (var i = 0; i < dimensions; i++)
        {
            vector[i] *= scale;
        }

        return vector;
    }
}
