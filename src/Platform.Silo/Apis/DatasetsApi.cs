using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi;
using Platform.Evaluations;
using Platform.Evaluations.Datasets;
using Platform.Silo.Auth;
using Platform.Silo.Evaluations;
using Platform.Silo.Http;
using Platform.Tenants;

namespace Platform.Silo.Apis;

/// <summary>Evaluation datasets of the caller's tenant: <c>/api/v1/datasets</c>.</summary>
public static class DatasetsApi
{
    private static readonly Role[] Readers = [Role.Owner, Role.Operator, Role.Developer, Role.Viewer];
    private static readonly Role[] Writers = [Role.Owner, Role.Operator, Role.Developer];

    /// <summary>Largest <c>limit</c> of an items page.</summary>
    public const int MaxItemsLimit = 1000;

    public static RouteGroupBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var datasets = app.MapGroup("/api/v1/datasets").WithTags("Datasets").RequireAuthorization();
        datasets.MapGet("/", List).RequireRoles(Readers).WithSummary("List the tenant's datasets with their latest version, with paging.");
        datasets.MapGet("/{name}", Get).RequireRoles(Readers).WithSummary("A dataset's committed versions, oldest first.");
        datasets.MapPost("/{name}/versions", Import).RequireRoles(Writers).WithMaxBodySize(DatasetLimits.MaxBodyBytes)
            .WithSummary("Import a new version from JSON Lines or CSV (UTF-8, at most 64 MB and 100,000 items); skipInvalid=true skips bad lines.")
            .AddOpenApiOperationTransformer(DescribeImportBody);
        datasets.MapGet("/{name}/versions/{version}", GetVersion).RequireRoles(Readers).WithSummary("One version ('latest' or its number).");
        datasets.MapGet("/{name}/versions/{version}/items", Items).RequireRoles(Readers)
            .WithSummary("A version's items in import order; page with offset and limit (at most 1000).");
        datasets.MapGet("/{name}/versions/{version}/export", Export).RequireRoles(Readers)
            .WithSummary("A version as JSON Lines, streamed page by page; importing it again gives the same items.")
            .Produces<string>(StatusCodes.Status200OK, "application/x-ndjson");
        return datasets;
    }

    public static async Task<Ok<DatasetListResponse>> List(HttpContext context, IGrainFactory grains, int offset = 0, int limit = 100)
    {
        if (offset < 0 || limit is < 1 or > 500)
        {
            throw new PlatformException(ErrorKind.Invalid, "offset must be >= 0 and limit between 1 and 500.", "limit");
        }

        var tenant = context.GetCaller().TenantId;
        var names = await grains.GetGrain<IDatasetIndexGrain>(tenant).ListAsync();
        var page = names.Skip(offset).Take(limit).ToList();
        var versions = await Task.WhenAll(page.Select(n => grains.GetGrain<IDatasetGrain>(DatasetNames.Key(tenant, n)).ListVersionsAsync()));

        // A dataset whose first import never committed is listed by name only once it has a version.
        var entries = page.Zip(versions)
            .Where(d => d.Second.Count > 0)
            .Select(d => new DatasetListEntry(d.First, d.Second.Count, DatasetVersionResponse.From(d.Second[^1])))
            .ToList();
        return TypedResults.Ok(new DatasetListResponse(entries, names.Count));
    }

    public static async Task<Ok<DatasetResponse>> Get(string name, HttpContext context, IGrainFactory grains)
    {
        var versions = DatasetNames.IsValid(name)
            ? await grains.GetGrain<IDatasetGrain>(DatasetNames.Key(context.GetCaller().TenantId, name)).ListVersionsAsync()
            : [];
        return versions.Count == 0
            ? throw PlatformException.NotFound($"Dataset '{name}'")
            : TypedResults.Ok(new DatasetResponse(name, [.. versions.Select(DatasetVersionResponse.From)]));
    }

    public static async Task<Results<Created<DatasetImportResponse>, ProblemHttpResult>> Import(
        string name, HttpContext context, DatasetService datasets, bool skipInvalid = false)
    {
        if (!DatasetNames.IsValid(name))
        {
            throw new PlatformException(ErrorKind.Invalid, "Dataset names are 1-100 lowercase letters, digits, '-', '_' or '.', starting with a letter.", "name");
        }

        var format = FormatOf(context.Request.ContentType);
        if (format is null)
        {
            return TypedResults.Problem(Problem(
                StatusCodes.Status415UnsupportedMediaType,
                "Send the dataset in UTF-8 as JSON Lines ('Content-Type: application/x-ndjson', 'application/jsonl' or 'application/json-lines') "
                + "or as CSV ('Content-Type: text/csv').",
                "unsupported_media_type",
                "Content-Type"));
        }

        var tenant = context.GetCaller().TenantId;
        var import = await datasets.ImportAsync(tenant, name, format, context.Request.Body, skipInvalid, context.GetActor(), context.RequestAborted);
        if (import.Version is not { } version)
        {
            var parsed = import.Parsed;
            var problem = Problem(StatusCodes.Status400BadRequest, parsed.Refusal(skipInvalid)!, "invalid_dataset", "body");
            problem.Extensions["errors"] = parsed.Fatal is { } fatal ? [fatal, .. parsed.Errors] : parsed.Errors;
            problem.Extensions["errorCount"] = parsed.ErrorCount + (parsed.Fatal is null ? 0 : 1);
            return TypedResults.Problem(problem);
        }

        return TypedResults.Created(
            $"/api/v1/datasets/{name}/versions/{version.Version}",
            new DatasetImportResponse(name, DatasetVersionResponse.From(version), import.Parsed.ErrorCount, import.Parsed.Errors));
    }

    public static async Task<Ok<DatasetVersionResponse>> GetVersion(string name, string version, HttpContext context, DatasetService datasets) =>
        TypedResults.Ok(DatasetVersionResponse.From(await datasets.RequireVersionAsync(context.GetCaller().TenantId, name, ParseVersion(version))));

    public static async Task<Ok<DatasetItemsResponse>> Items(
        string name, string version, HttpContext context, DatasetService datasets, int offset = 0, int limit = 100)
    {
        if (offset < 0 || limit is < 1 or > MaxItemsLimit)
        {
            throw new PlatformException(ErrorKind.Invalid, $"offset must be >= 0 and limit between 1 and {MaxItemsLimit}.", offset < 0 ? "offset" : "limit");
        }

        var tenant = context.GetCaller().TenantId;
        var info = await datasets.RequireVersionAsync(tenant, name, ParseVersion(version));
        var items = await datasets.ReadItemsAsync(tenant, name, info, offset, limit);
        var next = offset + items.Count < info.ItemCount ? offset + items.Count : (int?)null;
        return TypedResults.Ok(new DatasetItemsResponse(name, info.Version, items, offset, info.ItemCount, next));
    }

    public static async Task<PushStreamHttpResult> Export(string name, string version, HttpContext context, DatasetService datasets)
    {
        var tenant = context.GetCaller().TenantId;

        // Resolved before the body starts, so a missing version is a 404 problem, not a cut stream.
        var info = await datasets.RequireVersionAsync(tenant, name, ParseVersion(version));
        return TypedResults.Stream(
            output => datasets.ExportAsync(tenant, name, info, output, context.RequestAborted),
            "application/x-ndjson",
            $"{name}-v{info.Version}.jsonl");
    }

    /// <summary>
    /// The import body in the OpenAPI document. Not <c>Accepts</c> metadata: routing would then answer any other content
    /// type with its own 415, which does not name the accepted types.
    /// </summary>
    private static Task DescribeImportBody(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Description = "One item per line (JSON Lines) or per record after a header row (CSV), in UTF-8.",
            Content = DatasetService.ContentTypes.Keys.ToDictionary(
                type => type, _ => new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } }),
        };
        return Task.CompletedTask;
    }

    /// <summary>The dataset format a Content-Type names (UTF-8 only), or null.</summary>
    public static string? FormatOf(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && DatasetService.ContentTypes.TryGetValue(media.MediaType.Value ?? "", out var format)
        && (media.Charset.Value is null || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
            ? format
            : null;

    private static int ParseVersion(string version) =>
        version == "latest" ? 0
        : int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= 1 ? number
        : throw new PlatformException(ErrorKind.Invalid, "version must be a version number (1, 2, ...) or 'latest'.", "version");

    private static ProblemDetails Problem(int status, string detail, string code, string field)
    {
        var problem = new ProblemDetails { Status = status, Detail = detail };
        problem.Extensions[ErrorResponses.CodeExtension] = code;
        problem.Extensions[ErrorResponses.FieldExtension] = field;
        return problem;
    }
}

public sealed record DatasetVersionResponse(
    int Version, int ItemCount, int PageCount, DateTime CreatedUtc, string CreatedBy, string Format, int SkippedLines, string ContentHash)
{
    public static DatasetVersionResponse From(DatasetVersionInfo v) =>
        new(v.Version, v.ItemCount, v.PageCount, v.CreatedUtc, v.CreatedBy, v.Format, v.SkippedLines, v.ContentHash);
}

/// <summary>An import's answer: the new version, and the lines skipped (skipInvalid=true; the first 100 listed, all counted).</summary>
public sealed record DatasetImportResponse(string Dataset, DatasetVersionResponse Version, int SkippedCount, IReadOnlyList<DatasetLineError> Skipped);

public sealed record DatasetListEntry(string Name, int VersionCount, DatasetVersionResponse Latest);

public sealed record DatasetListResponse(IReadOnlyList<DatasetListEntry> Datasets, int Total);

public sealed record DatasetResponse(string Name, IReadOnlyList<DatasetVersionResponse> Versions);

public sealed record DatasetItemsResponse(string Dataset, int Version, IReadOnlyList<DatasetItem> Items, int Offset, int Total, int? NextOffset);
