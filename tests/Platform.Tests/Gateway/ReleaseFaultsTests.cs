using Platform.Silo.Gateway;

namespace Platform.Tests.Gateway;

public sealed class ReleaseFaultsTests
{
    [Theory]
    [InlineData(502, "upstream_error", false)]
    [InlineData(504, "upstream_timeout", false)]
    [InlineData(500, "internal_error", false)]
    [InlineData(429, "rate_limit_exceeded", false)]
    [InlineData(404, "model_not_found", false)]
    [InlineData(400, "prompt_render_failed", true)]
    [InlineData(404, "not_found", true)]
    public void FailuresOfTheRouteOrTheReleasesPrompt_CountAgainstTheRelease(int status, string code, bool releaseNamesPrompt) =>
        Assert.True(ReleaseFaults.IsReleaseFault(status, code, releaseNamesPrompt));

    [Theory]
    [InlineData(400, "invalid_value", true)]
    [InlineData(400, "invalid_prompt", true)]
    [InlineData(400, "context_length_exceeded", false)]
    [InlineData(400, "invalid_request", false)]
    [InlineData(404, "not_found", false)]
    [InlineData(413, "request_too_large", false)]
    public void TheCallersOwnMistakes_DoNotCountAgainstTheRelease(int status, string code, bool releaseNamesPrompt) =>
        Assert.False(ReleaseFaults.IsReleaseFault(status, code, releaseNamesPrompt));

    [Theory]
    [InlineData(429, "budget_exceeded")]
    [InlineData(429, "tokens_limit_exceeded")]
    [InlineData(429, "requests_limit_exceeded")]
    [InlineData(400, "request_exceeds_budget")]
    [InlineData(503, "budget_unavailable")]
    public void BudgetRefusals_DoNotCountAgainstTheRelease(int status, string code) =>
        Assert.False(ReleaseFaults.IsReleaseFault(status, code, releaseNamesPrompt: true));
}
