using Platform.Gateway;
using System.Collections.Frozen;
using System.Text.Json;

namespace Platform.Providers.Catalog;

/// <summary>USD per million tokens, in decimal so sums of many small costs stay exact.</summary>
public sealed record ModelPrice(decimal InputPerMillion, decimal CachedInputPerMillion, decimal OutputPerMillion, int? ContextWindow)
{
    public decimal Cost(long inputTokens, long cachedInputTokens, long outputTokens)
    {
        var cached = Math.Clamp(cachedInputTokens, 0, inputTokens);
        return ((inputTokens - cached) * InputPerMillion + cached * CachedInputPerMillion + outputTokens * OutputPerMillion) / 1_000_000m;
    }
}

/// <summary>
/// Public list prices seeded from the LiteLLM-format price file shipped with the platform
/// (a snapshot of shared/data/model-prices.json); routes override or extend it.
/// </summary>
public sealed class PriceTable
{
    private readonly FrozenDictionary<string, ModelPrice> _prices;

    private PriceTable(FrozenDictionary<string, ModelPrice> prices) => _prices = prices;

    public int Count => _prices.Count;

    public static PriceTable LoadDefault()
    {
        using var stream = typeof(PriceTable).Assembly.GetManifestResourceStream("model-prices.json")
            ?? throw new InvalidOperationException("The embedded price table is missing.");
        return Load(stream);
    }

    public static PriceTable Load(Stream json)
    {
        using var doc = JsonDocument.Parse(json);
        var prices = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase);
        foreach (var model in doc.RootElement.EnumerateObject())
        {
            var entry = model.Value;
            if (entry.ValueKind != JsonValueKind.Object
                || !TryDecimal(entry, "input_cost_per_token", out var input))
            {
                continue;
            }

            TryDecimal(entry, "output_cost_per_token", out var output);
            var cached = TryDecimal(entry, "cache_read_input_token_cost", out var c) ? c : input;
            int? window = entry.TryGetProperty("max_input_tokens", out var w) && w.ValueKind == JsonValueKind.Number ? w.GetInt32() : null;
            prices[model.Name] = new ModelPrice(input * 1_000_000m, cached * 1_000_000m, output * 1_000_000m, window);
        }

        return new PriceTable(prices.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase));
    }

    public ModelPrice? Find(string model) => _prices.TryGetValue(model, out var price) ? price : null;

    /// <summary>The route's price: its own overrides, else the table's entry for its upstream model, else zero.</summary>
    public ModelPrice Resolve(ModelRoute route)
    {
        var listed = Find(route.UpstreamName);
        var input = route.InputPricePerMillion ?? listed?.InputPerMillion ?? 0m;
        return new ModelPrice(
            input,
            route.CachedInputPricePerMillion ?? listed?.CachedInputPerMillion ?? input,
            route.OutputPricePerMillion ?? listed?.OutputPerMillion ?? 0m,
            route.ContextWindow ?? listed?.ContextWindow);
    }

    private static bool TryDecimal(JsonElement entry, string name, out decimal value)
    {
        value = 0;
        return entry.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetDecimal(out value);
    }
}
