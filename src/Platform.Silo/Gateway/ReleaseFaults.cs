namespace Platform.Silo.Gateway;

/// <summary>
/// Which failed requests count against the release (deployment arm) that served them. A rollout must not be
/// steerable by callers' own mistakes: a request the caller got wrong (a 400 for its body or its variables, a
/// prompt too long for the window, a provider refusing the caller's content) says nothing about the release
/// and stays out of the monitor's windows. The release is at fault when its route fails or is gone, or when
/// its prompt no longer exists or no longer renders.
/// </summary>
public static class ReleaseFaults
{
    public static bool IsReleaseFault(int status, string code, bool releaseNamesPrompt) =>
        (status >= 500 && code != ErrorCodes.BudgetUnavailable) // upstream errors, garbage, timeouts; the platform's own failures on this release
        || (status == StatusCodes.Status429TooManyRequests && code == ErrorCodes.UpstreamRateLimited) // the route's provider is rate-limiting (not a budget)
        || code == ErrorCodes.ModelNotFound // the release's route was removed from the catalog
        || code == ErrorCodes.PromptRenderFailed // the release's template fails at render time
        || (releaseNamesPrompt && status == StatusCodes.Status404NotFound); // the release's prompt, version or label is gone
}
