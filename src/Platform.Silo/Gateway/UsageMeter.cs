using Microsoft.Extensions.AI;
using Platform.Providers.Catalog;
using Platform.Providers.Tokens;

namespace Platform.Silo.Gateway;

/// <summary>The settle stage: a request's real usage and price, from the provider's usage or, without it, our own count.</summary>
public static class UsageMeter
{
    /// <summary>Provider usage when given; otherwise our own token counts, so no request is recorded at zero cost.</summary>
    public static UsageCost Settle(ResolvedRoute route, GatewayRequest request, UsageDetails? usage, string outputText)
    {
        var input = usage?.InputTokenCount;
        var output = usage?.OutputTokenCount;
        var estimated = input is null || output is null;
        input ??= TokenCounter.CountPrompt(request.Messages, request.Options) + ((long)TokenCounter.Attachments(request.Messages) * route.Route.ImageTokens);
        output ??= TokenCounter.Count(outputText);
        var cached = usage?.CachedInputTokenCount ?? 0;
        return new UsageCost(input.Value, cached, output.Value, route.Price.Cost(input.Value, cached, output.Value), estimated);
    }
}
