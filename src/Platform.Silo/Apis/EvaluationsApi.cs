using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Evaluations;
using Platform.Silo.Auth;
using Platform.Silo.Evaluations;
using Platform.Silo.Http;
using Platform.Tenants;

namespace Platform.Silo.Apis;

/// <summary>Evaluation runs of the caller's tenant: <c>/api/v1/evaluations/runs</c>.</summary>
public static class EvaluationsApi
{
    public const int MaxResultsPage = 1000;

    private static readonly byte[] NewLine = "\n"u8.ToArray();

    private static readonly Role[] Readers = [Role.Owner, Role.Operator, Role.Developer, Role.Viewer];
    private static readonly Role[] Runners = [Role.Owner, Role.Operator, Role.Developer];

    public static RouteGroupBuilder MapEvaluationsApi(this IEndpointRouteBuilder app)
    {
        var runs = app.MapGroup("/api/v1/evaluations/runs").WithTags("Evaluations").RequireAuthorization();
        runs.MapPost("/", Start).RequireRoles(Runners).WithIdempotency()
            .WithSummary("Run a dataset version against a release (or a deployment's arm) and score it; answers 202 with the run.");
        runs.MapGet("/", List).RequireRoles(Readers).WithSummary("The tenant's runs, newest first; filter by dataset.");
        runs.MapGet("/{id}", Get).RequireRoles(Readers).WithSummary("A run: status, progress and the aggregates of the items scored so far.");
        runs.MapPost("/{id}/cancel", Cancel).RequireRoles(Runners).WithSummary("Stop a run; what finished is kept.");
        runs.MapGet("/{id}/results", Results).RequireRoles(Readers).WithSummary("Item results in dataset order: output, latency, tokens, cost, scores.");
        runs.MapGet("/{id}/results.jsonl", Export).RequireRoles(Readers).WithSummary("Every item result as JSON Lines, in dataset order.")
            .Produces<string>(StatusCodes.Status200OK, "application/x-ndjson");
        runs.MapGet("/{id}/compare", Compare).RequireRoles(Readers)
            .WithSummary("The run against a baseline run of the same dataset version: per evaluator, the paired difference, its 95% interval, p-value, and the items that regressed or improved.");
        return runs;
    }

    public static async Task<Accepted<EvaluationRunInfo>> Start(StartRunRequest? request, HttpContext context, EvaluationService evaluations)
    {
        if (request is null)
        {
            throw new PlatformException(ErrorKind.Invalid, "The body must be a JSON object describing the run.", "body");
        }

        if (string.IsNullOrWhiteSpace(request.Dataset))
        {
            throw new PlatformException(ErrorKind.Invalid, "dataset is required.", "dataset");
        }

        if (request.Target is null)
        {
            throw new PlatformException(ErrorKind.Invalid, "target is required: a release, or a deployment and its arm.", "target");
        }

        if (request.Evaluators is not { Count: > 0 })
        {
            throw new PlatformException(ErrorKind.Invalid, "evaluators must name at least one evaluator.", "evaluators");
        }

        var spec = new EvaluationRunSpec(
            request.Dataset, request.DatasetVersion ?? 0, request.Target, request.Evaluators, request.Concurrency ?? 8, request.MaxItemRetries ?? 2, request.Name);
        var run = await evaluations.StartAsync(context.GetCaller(), context.GetActor(), spec);
        return TypedResults.Accepted($"/api/v1/evaluations/runs/{run.Id}", run);
    }

    public static async Task<Ok<RunList>> List(HttpContext context, IGrainFactory grains, string? dataset = null, int limit = 100)
    {
        if (limit is < 1 or > IEvaluationRunIndexGrain.MaxRuns)
        {
            throw new PlatformException(ErrorKind.Invalid, $"limit must be between 1 and {IEvaluationRunIndexGrain.MaxRuns}.", "limit");
        }

        var runs = await grains.GetGrain<IEvaluationRunIndexGrain>(context.GetCaller().TenantId).ListAsync(dataset, limit);
        return TypedResults.Ok(new RunList(runs));
    }

    public static async Task<Ok<EvaluationRunInfo>> Get(string id, HttpContext context, EvaluationService evaluations) =>
        TypedResults.Ok(await evaluations.GetAsync(context.GetCaller().TenantId, id));

    public static async Task<Ok<EvaluationRunInfo>> Cancel(string id, CancelRunRequest? request, HttpContext context, EvaluationService evaluations)
    {
        var reason = request?.Reason;
        if (reason is { Length: > TextLimits.Reason })
        {
            throw new PlatformException(ErrorKind.Invalid, $"reason must be at most {TextLimits.Reason} characters.", "reason");
        }

        var tenant = context.GetCaller().TenantId;
        _ = await evaluations.GetAsync(tenant, id);
        return TypedResults.Ok((await evaluations.Run(tenant, id).CancelAsync(context.GetActor(), reason))!);
    }

    public static async Task<Ok<EvaluationResultPage>> Results(string id, HttpContext context, EvaluationService evaluations, int offset = 0, int limit = 100)
    {
        if (offset < 0)
        {
            throw new PlatformException(ErrorKind.Invalid, "offset must be 0 or more.", "offset");
        }

        if (limit is < 1 or > MaxResultsPage)
        {
            throw new PlatformException(ErrorKind.Invalid, $"limit must be between 1 and {MaxResultsPage}.", "limit");
        }

        var tenant = context.GetCaller().TenantId;
        _ = await evaluations.GetAsync(tenant, id);
        return TypedResults.Ok(await evaluations.Run(tenant, id).GetResultsAsync(offset, limit));
    }

    public static async Task Export(string id, HttpContext context, EvaluationService evaluations)
    {
        var tenant = context.GetCaller().TenantId;
        _ = await evaluations.GetAsync(tenant, id);
        context.Response.ContentType = "application/x-ndjson";
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{id}.jsonl\"";
        var options = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var written = 0;
        await foreach (var result in evaluations.ResultsAsync(tenant, id).WithCancellation(context.RequestAborted))
        {
            await JsonSerializer.SerializeAsync(context.Response.Body, result, options, context.RequestAborted);
            await context.Response.Body.WriteAsync(NewLine, context.RequestAborted);
            if (++written % 200 == 0)
            {
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
    }

    public static async Task<Ok<RunComparison>> Compare(string id, HttpContext context, EvaluationService evaluations, string? baseline = null)
    {
        if (string.IsNullOrWhiteSpace(baseline))
        {
            throw new PlatformException(ErrorKind.Invalid, "baseline is required: the id of the run to compare with.", "baseline");
        }

        if (baseline == id)
        {
            throw new PlatformException(ErrorKind.Invalid, "baseline must be another run: a run compared with itself shows no difference.", "baseline");
        }

        return TypedResults.Ok(await evaluations.CompareAsync(context.GetCaller().TenantId, id, baseline));
    }
}

/// <summary>
/// A run to start: <c>dataset</c> (and <c>datasetVersion</c>, default the latest), <c>target</c> (<c>{"release": {...}}</c> or
/// <c>{"deployment": "...", "arm": "stable|canary"}</c>), <c>evaluators</c>, and optionally <c>concurrency</c> (default 8),
/// <c>maxItemRetries</c> (default 2) and a <c>name</c>.
/// </summary>
public sealed record StartRunRequest(
    string? Dataset = null,
    int? DatasetVersion = null,
    EvaluationTarget? Target = null,
    IReadOnlyList<EvaluatorSpec>? Evaluators = null,
    int? Concurrency = null,
    int? MaxItemRetries = null,
    string? Name = null);

/// <summary>Why a run is cancelled (optional; kept on the run).</summary>
public sealed record CancelRunRequest(string? Reason = null);

public sealed record RunList(IReadOnlyList<EvaluationRunSummary> Data);
