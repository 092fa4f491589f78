using Microsoft.Extensions.AI;
using Platform.Deployments;
using Platform.Providers.OpenAi;
using Platform.Silo.Prompts;

namespace Platform.Silo.Gateway;

/// <summary>
/// Who decides what, when a request, a deployment's release and a prompt version all have a say: the release decides
/// the route and (unless it names none) the prompt, the request's own values win over the release's and the prompt's
/// parameters, and identifiers that leave the platform are scoped to the tenant. Plain functions, unit-tested.
/// </summary>
public static class ReleasePrecedence
{
    /// <summary>A deployment's release decides the route and (unless the request names its own) the prompt; its parameters fill what the request left unset.</summary>
    public static GatewayRequest WithRelease(GatewayRequest request, Release release)
    {
        request.Options.Temperature ??= (float?)release.Temperature;
        request.Options.MaxOutputTokens ??= release.MaxTokens;
        var prompt = release.Prompt is null
            ? request.Prompt
            : new PromptReference(release.Prompt, release.PromptVersion, release.PromptLabel, request.Prompt?.Variables);
        return request with { Model = release.ModelRoute, Prompt = prompt };
    }

    /// <summary>Prepends the rendered prompt messages; the prompt's parameters fill what the request left unset.</summary>
    public static GatewayRequest WithPrompt(GatewayRequest request, RenderedPrompt rendered)
    {
        var messages = new List<ChatMessage>(rendered.Messages.Length + request.Messages.Count);
        foreach (var message in rendered.Messages)
        {
            messages.Add(new ChatMessage(message.Role is "assistant" ? ChatRole.Assistant : message.Role is "user" ? ChatRole.User : ChatRole.System, message.Content));
        }

        messages.AddRange(request.Messages);
        var parameters = rendered.Version.Content.Parameters;
        var options = request.Options;
        options.Temperature ??= (float?)parameters.Temperature;
        options.MaxOutputTokens ??= parameters.MaxTokens;
        if (options.ResponseFormat is null && parameters.ResponseFormat == "json_object")
        {
            options.ResponseFormat = ChatResponseFormat.Json;
        }

        return request with
        {
            Messages = messages,
            Model = request.Model.Length > 0 ? request.Model : parameters.Model ?? "",
        };
    }

    /// <summary>
    /// <c>user</c> (for the provider's abuse monitoring), <c>safety_identifier</c> and <c>prompt_cache_key</c> go upstream
    /// prefixed with the tenant's hash: two tenants' "user-1" are two people, and never share a prompt cache.
    /// </summary>
    public static void ScopeToTenant(GatewayRequest request, string tenantId)
    {
        if (!string.IsNullOrEmpty(request.User))
        {
            (request.Options.AdditionalProperties ??= [])[OpenAiWire.UserProperty] = request.User;
        }

        if (request.Options.AdditionalProperties is { } extra
            && (extra.ContainsKey(OpenAiWire.UserProperty) || extra.ContainsKey(OpenAiWire.PassThroughProperty)))
        {
            extra[OpenAiWire.TenantScopeProperty] = TenantPrefix(tenantId);
        }
    }

    public static string TenantPrefix(string tenantId) => $"t{Fnv1a.Append(Fnv1a.Offset, tenantId):x8}-";
}
