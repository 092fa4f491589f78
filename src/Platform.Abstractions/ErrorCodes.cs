namespace Platform;

/// <summary>Machine-readable error codes (OpenAI's <c>error.code</c>, problem details' <c>code</c>) that code decides on.</summary>
public static class ErrorCodes
{
    /// <summary>The model route does not exist or the caller may not use it.</summary>
    public const string ModelNotFound = "model_not_found";

    /// <summary>A prompt version's template failed while rendering (as opposed to the caller's variables being invalid).</summary>
    public const string PromptRenderFailed = "prompt_render_failed";
}
