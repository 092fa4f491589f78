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

    /// <summary>Checks a route list; each message names the setting to fix.</summary>
    public static List<string> Validate(IReadOnlyList<ModelRoute> routes, string section)
    {
        var failures = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < routes.Count; i++)
        {
            var r = routes[i];
            var at = $"{section}:{i}";
            if (string.IsNullOrWhiteSpace(r.Name))
            {
                failures.Add($"{at}:Name must not be empty.");
            }
            else if (!names.Add(r.Name))
            {
                failures.Add($"{at}:Name '{r.Name}' is used by two routes.");
            }

            if (!ProviderNames.All.Contains(r.Provider))
            {
                failures.Add($"{at}:Provider '{r.Provider}' must be one of: {string.Join(", ", ProviderNames.All)}.");
            }

            if (r.Provider is ProviderNames.OpenAi or ProviderNames.AzureOpenAi
                && r.Endpoint is { Length: > 0 } endpoint && !Uri.TryCreate(endpoint, UriKind.Absolute, out _))
            {
                failures.Add($"{at}:Endpoint '{endpoint}' is not an absolute URL.");
            }

            if (r.Provider == ProviderNames.AzureOpenAi && string.IsNullOrWhiteSpace(r.Endpoint))
            {
                failures.Add($"{at}:Endpoint is required for azure-openai.");
            }

            if (r.TimeoutSeconds is <= 0 or > 3600)
            {
                failures.Add($"{at}:TimeoutSeconds must be between 0 and 3600 (was {r.TimeoutSeconds}).");
            }

            if (r.MaxRetries is < 0 or > 10)
            {
                failures.Add($"{at}:MaxRetries must be between 0 and 10 (was {r.MaxRetries}).");
            }

            if (r.InputPricePerMillion < 0 || r.OutputPricePerMillion < 0 || r.CachedInputPricePerMillion < 0)
            {
                failures.Add($"{at}: prices must not be negative.");
            }

            if (r.ContextWindow is <= 0)
            {
                failures.Add($"{at}:ContextWindow must be a positive number of tokens (was {r.ContextWindow}).");
            }

            if (r.Mode is not (ModelModes.Chat or ModelModes.Embedding))
            {
                failures.Add($"{at}:Mode '{r.Mode}' must be 'chat' or 'embedding'.");
            }

            if (r.Fallbacks is null || r.Simulated is null)
            {
                failures.Add($"{at}: fallbacks and simulated must not be null.");
                continue;
            }

            if (r.RetryBaseDelayMilliseconds is < 0 or > 60_000)
            {
                failures.Add($"{at}:RetryBaseDelayMilliseconds must be between 0 and 60000 (was {r.RetryBaseDelayMilliseconds}).");
            }

            if (r.Simulated.ErrorRate is < 0 or > 1)
            {
                failures.Add($"{at}:Simulated:ErrorRate must be between 0 and 1.");
            }
        }

        for (var i = 0; i < routes.Count; i++)
        {
            foreach (var fallback in routes[i].Fallbacks ?? [])
            {
                var target = routes.FirstOrDefault(r => r.Name == fallback);
                if (fallback == routes[i].Name || target is null)
                {
                    failures.Add($"{section}:{i}:Fallbacks names '{fallback}', which is not another route.");
                }
                else if (target.Mode != routes[i].Mode)
                {
                    failures.Add($"{section}:{i}:Fallbacks names '{fallback}', a route of another mode ({target.Mode}).");
                }
            }
        }

        return failures;
    }

    public void Dispose()
    {
        foreach (var route in _routes.Values)
        {
            route.Clients.Dispose();
        }
    }

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

        var options = new OpenAIClientOptions { RetryPolicy = new ClientRetryPolicy(0), NetworkTimeout = timeout };
        if (route.Endpoint is { Length: > 0 } endpoint)
        {
            options.Endpoint = new Uri(endpoint);
        }

        var openAi = new OpenAIClient(credential, options);
        return embedding
            ? new RouteClients(null, openAi.GetEmbeddingClient(route.UpstreamName).AsIEmbeddingGenerator())
            : new RouteClients(new OpenAiProtocolChatClient(openAi.GetChatClient(route.UpstreamName), route.UpstreamName, azure: false, options.Endpoint), null);
    }
}
