using Platform.Gateway;
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Frozen;
using Azure.AI.OpenAI;
using Microsoft.Extensions.AI;
using OpenAI;
using Platform.Providers.OpenAi;
using Platform.Providers.Simulated;

namespace Platform.Providers.Catalog;

/// <summary>The provider clients of one route: a chat client or an embedding generator, by the route's mode.</summary>
public sealed record RouteClients(IChatClient? Chat, IEmbeddingGenerator<string, Embedding<float>>? Embeddings) : IDisposable
{
    public void Dispose()
    {
        Chat?.Dispose();
        Embeddings?.Dispose();
    }
}

/// <summary>A route ready to serve: its settings, resolved price and provider clients.</summary>
public sealed class ResolvedRoute(ModelRoute route, ModelPrice price, RouteClients clients)
{
    public ModelRoute Route { get; } = route;

    public string Name => Route.Name;

    public ModelPrice Price { get; } = price;

    /// <summary>The chat client; null on an embedding route.</summary>
    public IChatClient? Chat { get; } = clients.Chat;

    /// <summary>The embedding generator; null on a chat route.</summary>
    public IEmbeddingGenerator<string, Embedding<float>>? Embeddings { get; } = clients.Embeddings;

    public RouteClients Clients { get; } = clients;

    public TimeSpan Timeout { get; } = TimeSpan.FromSeconds(route.TimeoutSeconds);

    /// <summary>The provider's host and port (a span's <c>server.address</c>/<c>server.port</c>), read once; null without an endpoint.</summary>
    public (string Host, int Port)? Server { get; } =
        route.Endpoint is { } endpoint && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) ? (uri.Host, uri.Port) : null;
}

/// <summary>
/// The model routes of this silo, built once from configuration: name lookups are a frozen-dictionary
/// read, and each route's <see cref="IChatClient"/> (with its HTTP pipeline) is created once.
/// </summary>
public sealed class ModelCatalog : IDisposable
{
    private readonly FrozenDictionary<string, ResolvedRoute> _routes;

    /// <summary>Builds a catalog whose chat clients come from <paramref name="clients"/> (which may reuse them across catalogs).</summary>
    public ModelCatalog(IEnumerable<ModelRoute> routes, PriceTable prices, Func<ModelRoute, RouteClients> clients)
    {
        _routes = routes.ToFrozenDictionary(
            r => r.Name,
            r => new ResolvedRoute(r, prices.Resolve(r), clients(r)),
            StringComparer.Ordinal);
        Ordered = [.. _routes.Values.OrderBy(r => r.Name, StringComparer.Ordinal)];
    }

    public IReadOnlyList<ResolvedRoute> Ordered { get; }

    public ResolvedRoute? Find(string name) => _routes.TryGetValue(name, out var route) ? route : null;

    public void Dispose()
    {
        foreach (var route in _routes.Values)
        {
            route.Clients.Dispose();
        }
    }

    /// <summary>OpenAI's own endpoint, for an <c>openai</c> route that names none.</summary>
    public static readonly Uri DefaultOpenAiEndpoint = new("https://api.openai.com/v1");

    public static RouteClients CreateClients(ModelRoute route)
    {
        var embedding = route.Mode == ModelModes.Embedding;
        if (route.Provider == ProviderNames.Simulated)
        {
            return embedding
                ? new RouteClients(null, new SimulatedEmbeddingGenerator(route.Name, route.Simulated))
                : new RouteClients(new SimulatedChatClient(route.Name, route.Simulated), null);
        }

        // Local OpenAI-compatible servers (vLLM, Ollama, llama.cpp) often need no key; the SDK needs a non-empty one.
        var key = route.CredentialEnvironmentVariable is { Length: > 0 } variable
            ? Environment.GetEnvironmentVariable(variable) ?? ""
            : "";
        var credential = new ApiKeyCredential(key.Length > 0 ? key : "no-key");
        var timeout = TimeSpan.FromSeconds(route.TimeoutSeconds);

        // The gateway owns retries, timeouts and fallback: the SDK's own retries are off.
        if (route.Provider == ProviderNames.AzureOpenAi)
        {
            var azure = new AzureOpenAIClient(new Uri(route.Endpoint!), credential, new AzureOpenAIClientOptions
            {
                RetryPolicy = new ClientRetryPolicy(0),
                NetworkTimeout = timeout,
            });
            return embedding
                ? new RouteClients(null, azure.GetEmbeddingClient(route.UpstreamName).AsIEmbeddingGenerator())
                : new RouteClients(new OpenAiProtocolChatClient(azure.GetChatClient(route.UpstreamName), route.UpstreamName, azure: true, new Uri(route.Endpoint!)), null);
        }

        if (!embedding)
        {
            // Chat goes over HttpClient directly (see OpenAiProtocolChatClient); timeouts and retries are the gateway's.
            var chatEndpoint = route.Endpoint is { Length: > 0 } url ? new Uri(url) : DefaultOpenAiEndpoint;
            return new RouteClients(OpenAiProtocolChatClient.OverHttp(chatEndpoint, key, route.UpstreamName), null);
        }

        var options = new OpenAIClientOptions { RetryPolicy = new ClientRetryPolicy(0), NetworkTimeout = timeout };
        if (route.Endpoint is { Length: > 0 } endpoint)
        {
            options.Endpoint = new Uri(endpoint);
        }

        return new RouteClients(null, new OpenAIClient(credential, options).GetEmbeddingClient(route.UpstreamName).AsIEmbeddingGenerator());
    }
}
