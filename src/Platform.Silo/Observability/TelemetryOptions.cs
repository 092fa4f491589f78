using Microsoft.Extensions.Options;

namespace Platform.Silo.Observability;

/// <summary>
/// <c>Platform:Telemetry</c>. Exporters are configured by the standard <c>OTEL_*</c> variables (see
/// <see cref="TelemetryExtensions"/>); these settings are what the variables do not cover.
/// </summary>
public sealed class TelemetryOptions
{
    public const string SectionName = "Platform:Telemetry";

    /// <summary>
    /// <c>Platform:Telemetry:Prometheus</c>: serve <c>GET /metrics</c> (Prometheus text format) on the platform's listener,
    /// to the admin key only. Default false.
    /// </summary>
    public bool Prometheus { get; set; }

    /// <summary>
    /// <c>Platform:Telemetry:CaptureContent</c>: put prompt and completion text on request spans
    /// (<c>gen_ai.input.messages</c>, <c>gen_ai.output.messages</c>). Default false: spans carry no content.
    /// </summary>
    public bool CaptureContent { get; set; }

    /// <summary><c>Platform:Telemetry:ContentMaxChars</c>: most characters of content per attribute when captured. Default 4096; 1 to 1,000,000.</summary>
    public int ContentMaxChars { get; set; } = 4096;

    /// <summary>
    /// <c>Platform:Telemetry:OrleansTracing</c>: with tracing on, also trace grain calls (Orleans activity propagation and the
    /// runtime's own spans: a cost on every grain call, and spans for the cluster's internal calls too). Default false.
    /// </summary>
    public bool OrleansTracing { get; set; }

    /// <summary>
    /// <c>Platform:Telemetry:FrameworkMetrics</c>: also export Orleans', ASP.NET Core's and HttpClient's own metrics (per grain
    /// message, per HTTP request and connection). Default false: they cost about a quarter of the gateway's throughput in the
    /// benchmark, and the platform's own metrics already count every request, token, cost and failure.
    /// </summary>
    public bool FrameworkMetrics { get; set; }

    /// <summary>
    /// <c>Platform:Telemetry:HttpTracing</c>: with tracing on, also trace every ASP.NET Core server request (the management API
    /// too) and every HttpClient call. Default false: the gateway's request span is then the SERVER span itself (it takes the
    /// caller's <c>traceparent</c> and carries the HTTP method, route and status), its attempt spans stand for the provider
    /// calls and hand their <c>traceparent</c> to the provider, and a request exports two spans instead of four
    /// (deploy/bench/RESULTS.md, "Observability on / off").
    /// </summary>
    public bool HttpTracing { get; set; }
}

public sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options) =>
        options.ContentMaxChars is < 1 or > 1_000_000
            ? ValidateOptionsResult.Fail($"{TelemetryOptions.SectionName}:ContentMaxChars must be between 1 and 1000000 (it is {options.ContentMaxChars}).")
            : ValidateOptionsResult.Success;
}
