namespace Platform.Gateway;

/// <summary>
/// The rules a model catalog must keep: each route on its own, and across routes (names unique, fallbacks
/// naming another route of the same mode). Configuration is checked with it at start, and the catalog grain
/// checks every change with it against the whole merged catalog, as the catalog's single writer.
/// </summary>
public static class ModelRouteRules
{
    /// <summary>Checks a route list; each message names the setting to fix (<c>{section}:{index}:{Setting}</c>).</summary>
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

            if (r.ImageInputTokens is < 0 or > 1_000_000)
            {
                failures.Add($"{at}:ImageInputTokens must be between 0 and 1000000 (was {r.ImageInputTokens}).");
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

    /// <summary>The catalog silos serve: configured routes, with API-managed routes added or overriding them by name.</summary>
    public static List<ModelRoute> Merge(IReadOnlyList<ModelRoute> configured, IReadOnlyList<ModelRoute> apiRoutes)
    {
        var api = apiRoutes.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        return [.. configured.Where(r => !api.Contains(r.Name)), .. apiRoutes];
    }
}
