using Platform.Gateway;
using Platform.Providers.Catalog;

namespace Platform.Tests.Gateway;

public sealed class PriceTableTests
{
    private static readonly PriceTable Prices = PriceTable.LoadDefault();

    [Fact]
    public void Default_IsSeededFromThePublicPriceFile()
    {
        var gpt4oMini = Prices.Find("gpt-4o-mini");

        Assert.True(Prices.Count > 100);
        Assert.NotNull(gpt4oMini);
        Assert.Equal(0.15m, gpt4oMini.InputPerMillion);
        Assert.Equal(0.075m, gpt4oMini.CachedInputPerMillion);
        Assert.Equal(0.60m, gpt4oMini.OutputPerMillion);
        Assert.Equal(128000, gpt4oMini.ContextWindow);
    }

    [Fact]
    public void Cost_ChargesCachedInputAtItsOwnPrice()
    {
        var price = new ModelPrice(InputPerMillion: 2m, CachedInputPerMillion: 0.5m, OutputPerMillion: 8m, ContextWindow: null);

        // 1000 input of which 400 cached, 500 output.
        Assert.Equal((600 * 2m + 400 * 0.5m + 500 * 8m) / 1_000_000m, price.Cost(1000, 400, 500));
    }

    [Fact]
    public void Cost_OfManySmallRequests_SumsExactly()
    {
        var price = Prices.Find("gpt-4o-mini")!;
        var total = Enumerable.Range(0, 1_000_000).Aggregate(0m, (sum, _) => sum + price.Cost(7, 0, 3));

        Assert.Equal(1_000_000 * price.Cost(7, 0, 3), total);
    }

    [Fact]
    public void Resolve_RouteOverridesWinOverTheTable()
    {
        var route = new ModelRoute { Name = "mine", UpstreamModel = "gpt-4o-mini", OutputPricePerMillion = 1m };

        var price = Prices.Resolve(route);

        Assert.Equal(0.15m, price.InputPerMillion);
        Assert.Equal(1m, price.OutputPerMillion);
    }

    [Fact]
    public void Resolve_UnknownModelWithoutOverrides_IsFree()
    {
        var price = Prices.Resolve(new ModelRoute { Name = "local-llama" });

        Assert.Equal(0m, price.Cost(1000, 0, 1000));
    }

    [Fact]
    public void Validate_NamesEachBadSetting()
    {
        List<ModelRoute> routes =
        [
            new() { Name = "a", Provider = "anthropic" },
            new() { Name = "a", Provider = "simulated", Fallbacks = ["missing"] },
            new() { Name = "az", Provider = "azure-openai" },
            new() { Name = "t", Provider = "simulated", TimeoutSeconds = 0 },
            new() { Name = "w", Provider = "simulated", ContextWindow = 0 },
            new() { Name = "i", Provider = "simulated", ImageInputTokens = -1 },
        ];

        var failures = ModelRouteRules.Validate(routes, "Platform:Models");

        Assert.Contains(failures, f => f.StartsWith("Platform:Models:0:Provider", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Platform:Models:1:Name", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Platform:Models:1:Fallbacks", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Platform:Models:2:Endpoint", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Platform:Models:3:TimeoutSeconds", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Platform:Models:4:ContextWindow", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Platform:Models:5:ImageInputTokens", StringComparison.Ordinal));
    }

    [Fact]
    public void AnAnswerWithoutUsage_IsChargedTheRoutesImageTokensForEachImage()
    {
        var route = new ResolvedRoute(new ModelRoute { Name = "r", ImageInputTokens = 1000 }, new ModelPrice(1_000_000m, 1_000_000m, 0, null), new RouteClients(null, null));
        List<Microsoft.Extensions.AI.ChatMessage> text = [new(Microsoft.Extensions.AI.ChatRole.User, "Say hello")];
        List<Microsoft.Extensions.AI.ChatMessage> images = [new(Microsoft.Extensions.AI.ChatRole.User,
            [new Microsoft.Extensions.AI.TextContent("Say hello"), new Microsoft.Extensions.AI.DataContent("data:image/png;base64,iVBORw0KGgo="),
             new Microsoft.Extensions.AI.UriContent(new Uri("https://example.com/cat.png"), "image/*")])];

        var plain = Platform.Silo.Gateway.UsageMeter.Settle(route, new Platform.Silo.Gateway.GatewayRequest("r", text, new(), false, false, null), null, "");
        var withImages = Platform.Silo.Gateway.UsageMeter.Settle(route, new Platform.Silo.Gateway.GatewayRequest("r", images, new(), false, false, null), null, "");

        Assert.Equal(plain.InputTokens + 2000, withImages.InputTokens);
        Assert.Equal(plain.CostUsd + 2000, withImages.CostUsd);
    }
}
