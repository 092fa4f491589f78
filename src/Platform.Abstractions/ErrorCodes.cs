namespace Platform;

/// <summary>Machine-readable error codes (OpenAI's <c>error.code</c>, problem details' <c>code</c>) that code decides on.</summary>
public static class ErrorCodes
{
    /// <summary>The model route does not exist or the caller may not use it.</summary>
    public const string ModelNotFound = "model_not_found";

    /// <summary>A prompt version's template failed while rendering (as opposed to the caller's variables being invalid).</summary>
    public const string PromptRenderFailed = "prompt_render_failed";

    /// <summary>A provider rate-limited every route of the chain (429).</summary>
    public const string UpstreamRateLimited = "rate_limit_exceeded";

    /// <summary>A scope's spend budget (USD per window) refuses the request (429), or a stream reached what its budget reserved for it.</summary>
    public const string BudgetExceeded = "budget_exceeded";

    /// <summary>A scope's token limit (tokens per window, TPM) refuses the request (429).</summary>
    public const string TokensLimitExceeded = "tokens_limit_exceeded";

    /// <summary>A scope's request limit (requests per window, RPM) refuses the request (429).</summary>
    public const string RequestsLimitExceeded = "requests_limit_exceeded";

    /// <summary>The request's worst case is more than a whole budget window allows (400): it can never be admitted as sent.</summary>
    public const string RequestExceedsBudget = "request_exceeds_budget";

    /// <summary>A budget could not be checked (503); nothing was sent upstream.</summary>
    public const string BudgetUnavailable = "budget_unavailable";
}
