using Microsoft.Extensions.AI;
using Platform.Deployments;
using Platform.Prompts;
using Platform.Providers.OpenAi;
using Platform.Silo.Gateway;
using Platform.Silo.Prompts;

namespace Platform.Tests.Gateway;

public sealed class ReleasePrecedenceTests
{
    private static GatewayRequest Request(ChatOptions? options = null, PromptReference? prompt = null, string model = "my-deployment", string? user = null) =>
        new(model, [new ChatMessage(ChatRole.User, "hi")], options ?? new ChatOptions(), Stream: false, IncludeUsage: false, user, prompt);

    [Fact]
    public void Release_DecidesRouteAndPrompt_AndFillsOnlyWhatTheRequestLeftUnset()
    {
        var request = Request(new ChatOptions { Temperature = 0.9f }, new PromptReference("own", 3, null, null));

        var planned = ReleasePrecedence.WithRelease(request, new Release("sim-large", Prompt: "greeter", PromptLabel: "production", Temperature: 0.1, MaxTokens: 50));

        Assert.Equal("sim-large", planned.Model);
        Assert.Equal(new PromptReference("greeter", null, "production", null), planned.Prompt);
        Assert.Equal(0.9f, planned.Options.Temperature);
        Assert.Equal(50, planned.Options.MaxOutputTokens);
    }

    [Fact]
    public void ReleaseWithoutAPrompt_KeepsTheRequestsOwnPrompt_AndPassesItsVariables()
    {
        var variables = new Dictionary<string, System.Text.Json.JsonElement>();
        var request = Request(prompt: new PromptReference("own", 3, null, variables));

        var planned = ReleasePrecedence.WithRelease(request, new Release("sim-small"));

        Assert.Equal("own", planned.Prompt!.Name);
        Assert.Same(variables, planned.Prompt.Variables);
    }

    [Fact]
    public void Prompt_IsPrependedAndFillsUnsetParameters_TheRequestsModelWins()
    {
        var content = new PromptContent([new PromptMessage("system", "x")], [], new PromptParameters("sim-large", 0.3, 99, "json_object"));
        var rendered = new RenderedPrompt(new PromptVersion("t", "p", 1, content, "m", "k", DateTimeOffset.UnixEpoch, "h"), [new RenderedMessage("system", "Be brief.")]);

        var withModel = ReleasePrecedence.WithPrompt(Request(new ChatOptions { MaxOutputTokens = 5 }, model: "sim-small"), rendered);
        var withoutModel = ReleasePrecedence.WithPrompt(Request(model: ""), rendered);

        Assert.Equal(["Be brief.", "hi"], withModel.Messages.Select(m => m.Text));
        Assert.Equal(ChatRole.System, withModel.Messages[0].Role);
        Assert.Equal("sim-small", withModel.Model);
        Assert.Equal(5, withModel.Options.MaxOutputTokens);
        Assert.Equal(0.3f, withModel.Options.Temperature);
        Assert.Equal(ChatResponseFormat.Json, withModel.Options.ResponseFormat);
        Assert.Equal("sim-large", withoutModel.Model);
    }

    [Fact]
    public void Identifiers_AreScopedToTheTenant_OnlyWhenThereAreAny()
    {
        var withUser = Request(user: "u-1");
        var without = Request();

        ReleasePrecedence.ScopeToTenant(withUser, "acme");
        ReleasePrecedence.ScopeToTenant(without, "acme");

        Assert.Equal("u-1", withUser.Options.AdditionalProperties![OpenAiWire.UserProperty]);
        Assert.Equal(ReleasePrecedence.TenantPrefix("acme"), withUser.Options.AdditionalProperties[OpenAiWire.TenantScopeProperty]);
        Assert.NotEqual(ReleasePrecedence.TenantPrefix("acme"), ReleasePrecedence.TenantPrefix("beta"));
        Assert.Null(without.Options.AdditionalProperties);
    }
}
