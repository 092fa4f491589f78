using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Platform.Silo.Auth;

namespace Platform.Silo.Observability;

/// <summary>
/// Which telemetry this process exports, decided once from configuration. Tracing is registered only when an OTLP endpoint
/// for traces is configured, metrics only when one for metrics is, or Prometheus is on; with neither, OpenTelemetry is not
/// registered at all, no listener exists, and the gateway's spans and instruments cost a null check.
/// </summary>
/// <param name="OtlpAll">OTEL_EXPORTER_OTLP_ENDPOINT is set: every signal goes over OTLP (per-signal variables may override).</param>
/// <param name="OtlpTraces">Traces go over OTLP (the base endpoint or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).</param>
/// <param name="OtlpMetrics">Metrics go over OTLP (the base endpoint or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT).</param>
/// <param name="Prometheus"><c>Platform:Telemetry:Prometheus</c>: <c>/metrics</c> is served.</param>
/// <param name="OrleansTracing">Grain calls are traced (tracing on and <c>Platform:Telemetry:OrleansTracing</c>).</param>
/// <param name="HttpTracing">ASP.NET Core's and HttpClient's spans (<c>Platform:Telemetry:HttpTracing</c>).</param>
/// <param name="FrameworkMetrics">Orleans', ASP.NET Core's and HttpClient's metrics (<c>Platform:Telemetry:FrameworkMetrics</c>).</param>
public sealed record TelemetrySignals(bool OtlpAll, bool OtlpTraces, bool OtlpMetrics, bool Prometheus, bool OrleansTracing, bool HttpTracing, bool FrameworkMetrics)
{
    public bool Traces => OtlpTraces;

    public bool Metrics => OtlpMetrics || Prometheus;

    public bool Any => Traces || Metrics;

    public static TelemetrySignals From(IConfiguration configuration)
    {
        static bool Set(IConfiguration c, string key) => !string.IsNullOrWhiteSpace(c[key]);
        var all = Set(configuration, "OTEL_EXPORTER_OTLP_ENDPOINT");
        var traces = all || Set(configuration, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        var metrics = all || Set(configuration, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        var options = configuration.GetSection(TelemetryOptions.SectionName).Get<TelemetryOptions>() ?? new TelemetryOptions();
        return new TelemetrySignals(all, traces, metrics, options.Prometheus, traces && options.OrleansTracing, options.HttpTracing, options.FrameworkMetrics);
    }
}

public static class TelemetryExtensions
{
    /// <summary>The service name on every span and metric unless <c>OTEL_SERVICE_NAME</c> says otherwise.</summary>
    public const string DefaultServiceName = "llm-platform";

    /// <summary>The Prometheus scrape path (admin key required).</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// OpenTelemetry for the platform: the gateway's spans (<see cref="GatewayTelemetry"/>), ASP.NET Core, HttpClient and Orleans
    /// instrumentation; the <c>Platform</c> meter with Orleans', ASP.NET Core's and HttpClient's; OTLP export configured by the
    /// standard <c>OTEL_EXPORTER_OTLP_*</c> variables; Prometheus when <c>Platform:Telemetry:Prometheus</c> is on.
    /// </summary>
    public static WebApplicationBuilder AddPlatformTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelemetryOptions>().Bind(builder.Configuration.GetSection(TelemetryOptions.SectionName)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<TelemetryOptions>, TelemetryOptionsValidator>();
        var signals = TelemetrySignals.From(builder.Configuration);
        builder.Services.AddSingleton(signals);
        if (!signals.Any)
        {
            return builder;
        }

        var otel = builder.Services.AddOpenTelemetry();
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_SERVICE_NAME"]))
        {
            otel.ConfigureResource(r => r.AddService(DefaultServiceName, serviceInstanceId: Environment.MachineName + "/" + Environment.ProcessId));
        }

        var configuration = builder.Configuration;
        if (signals.Traces)
        {
            otel.WithTracing(tracing =>
            {
                tracing.AddSource(GatewayTelemetry.SourceName);
                if (signals.OrleansTracing)
                {
                    tracing.AddSource("Microsoft.Orleans.*");
                }

                if (Sampler(configuration) is { } sampler)
                {
                    tracing.SetSampler(sampler);
                }

                if (signals.HttpTracing)
                {
                    tracing
                        .AddAspNetCoreInstrumentation(o => o.Filter = context =>
                            !context.Request.Path.StartsWithSegments(MetricsPath) && !context.Request.Path.StartsWithSegments("/health"))
                        .AddHttpClientInstrumentation();
                }

                if (!signals.OtlpAll)
                {
                    tracing.AddOtlpExporter(o => ConfigureSignal(o, configuration, "TRACES"));
                }
            });
        }

        if (signals.Metrics)
        {
            otel.WithMetrics(metrics =>
            {
                metrics.AddMeter(PlatformMeter.Meter.Name);
                if (signals.FrameworkMetrics)
                {
                    metrics.AddMeter("Microsoft.Orleans").AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                }

                if (signals.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }

                if (signals.OtlpMetrics && !signals.OtlpAll)
                {
                    metrics.AddOtlpExporter(o => ConfigureSignal(o, configuration, "METRICS"));
                }
            });
        }

        if (signals.OtlpAll)
        {
            // All signals (logs included), each configured by the OTEL_EXPORTER_OTLP_* variables. Without an endpoint it would
            // export to localhost:4317, so it is called only when one is configured.
            otel.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>
    /// The sampler named by <c>OTEL_TRACES_SAMPLER</c> (with <c>OTEL_TRACES_SAMPLER_ARG</c>, a ratio from 0 to 1) as the
    /// specification names them; null (the SDK's default, every trace) when it is not set. An unknown name or a ratio out of
    /// range stops the start-up with a message naming the variable.
    /// </summary>
    internal static Sampler? Sampler(IConfiguration configuration)
    {
        var name = configuration["OTEL_TRACES_SAMPLER"]?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        double Ratio()
        {
            var arg = configuration["OTEL_TRACES_SAMPLER_ARG"];
            if (string.IsNullOrWhiteSpace(arg))
            {
                return 1.0;
            }

            return double.TryParse(arg, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var ratio)
                && ratio is >= 0 and <= 1
                ? ratio
                : throw new InvalidOperationException($"OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 (was '{arg}').");
        }

        return name switch
        {
            "always_on" => new AlwaysOnSampler(),
            "always_off" => new AlwaysOffSampler(),
            "traceidratio" => new TraceIdRatioBasedSampler(Ratio()),
            "parentbased_always_on" => new ParentBasedSampler(new AlwaysOnSampler()),
            "parentbased_always_off" => new ParentBasedSampler(new AlwaysOffSampler()),
            "parentbased_traceidratio" => new ParentBasedSampler(new TraceIdRatioBasedSampler(Ratio())),
            _ => throw new InvalidOperationException(
                $"OTEL_TRACES_SAMPLER '{name}' is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio."),
        };
    }

    /// <summary>
    /// One signal's exporter when only its own <c>OTEL_EXPORTER_OTLP_{SIGNAL}_*</c> variables are set (say, traces to Langfuse and
    /// nothing else): endpoint used as given, protocol and headers from the signal's variable or else the general one.
    /// </summary>
    private static void ConfigureSignal(OpenTelemetry.Exporter.OtlpExporterOptions options, ConfigurationManager configuration, string signal)
    {
        string? Read(string name) => configuration[$"OTEL_EXPORTER_OTLP_{signal}_{name}"] is { Length: > 0 } value ? value : configuration[$"OTEL_EXPORTER_OTLP_{name}"];
        options.Endpoint = new Uri(configuration[$"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"]!);
        options.Protocol = Read("PROTOCOL") is "grpc" or null or ""
            ? OpenTelemetry.Exporter.OtlpExportProtocol.Grpc
            : OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf;
        if (Read("HEADERS") is { Length: > 0 } headers)
        {
            options.Headers = headers;
        }
    }

    /// <summary>Grain calls as spans, carrying the trace through the cluster; only when tracing is on (it costs on every grain call).</summary>
    public static ISiloBuilder AddPlatformTracing(this ISiloBuilder silo, IConfiguration configuration)
    {
        if (TelemetrySignals.From(configuration).OrleansTracing)
        {
            silo.AddActivityPropagation();
        }

        return silo;
    }

    /// <summary>Maps <c>GET /metrics</c> (Prometheus text format), to the admin key only, when Prometheus is on.</summary>
    public static WebApplication MapPlatformTelemetry(this WebApplication app)
    {
        if (app.Services.GetRequiredService<TelemetrySignals>().Prometheus)
        {
            app.MapPrometheusScrapingEndpoint(MetricsPath).RequireAuthorization(AuthExtensions.AdminPolicy).ExcludeFromDescription();
        }

        return app;
    }

    /// <summary>
    /// Wraps a gateway endpoint in its request span and metrics (<see cref="RequestTelemetryFilter"/>), when telemetry is on;
    /// <paramref name="route"/> is the endpoint's full route template (the span's <c>http.route</c>).
    /// </summary>
    public static RouteHandlerBuilder WithRequestTelemetry(this RouteHandlerBuilder endpoint, IEndpointRouteBuilder app, string operation, string route)
    {
        if (app.ServiceProvider.GetService<TelemetrySignals>() is { Any: true })
        {
            var options = app.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value;
            endpoint.AddEndpointFilter(new RequestTelemetryFilter(operation, route, options));
        }

        return endpoint;
    }
}
