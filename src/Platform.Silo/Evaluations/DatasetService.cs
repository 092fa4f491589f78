using System.Buffers;
using System.Text;
using Platform.Evaluations;
using Platform.Evaluations.Datasets;
using Platform.Tenants;

namespace Platform.Silo.Evaluations;

/// <summary>The outcome of an import: the committed version, or the parse result that refused it.</summary>
public sealed record DatasetImport(DatasetVersionInfo? Version, DatasetParseResult Parsed);

/// <summary>
/// Dataset imports, item reads and exports over the dataset grains. An import parses the whole body first (nothing
/// is stored unless it is accepted), then reserves a version, writes its pages and commits it: a failure at any step
/// leaves no visible version.
/// </summary>
public sealed partial class DatasetService(IGrainFactory grains, ILogger<DatasetService> logger)
{
    /// <summary>Pages written at once by one import.</summary>
    private const int PageWriters = 4;

    /// <summary>Content types an import accepts, and the format each means.</summary>
    public static readonly IReadOnlyDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["application/x-ndjson"] = DatasetFormats.JsonLines,
        ["application/jsonl"] = DatasetFormats.JsonLines,
        ["application/json-lines"] = DatasetFormats.JsonLines,
        ["text/csv"] = DatasetFormats.Csv,
    };

    public async Task<DatasetImport> ImportAsync(string tenant, string dataset, string format, Stream body, bool skipInvalid, Actor actor, CancellationToken cancellationToken)
    {
        // Strict UTF-8 (invalid bytes are an error, not replacement characters); a UTF-8 byte order mark is skipped.
        using var reader = new StreamReader(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true, throwOnInvalidBytes: true), false, 64 * 1024, leaveOpen: true);
        var parsed = format == DatasetFormats.Csv
            ? await DatasetCsv.ParseAsync(reader, cancellationToken)
            : await DatasetJsonLines.ParseAsync(reader, cancellationToken);
        if (!parsed.IsAccepted(skipInvalid))
        {
            return new DatasetImport(null, parsed);
        }

        var pages = DatasetPaging.Split(parsed.Items);
        var commit = new DatasetCommit(format, parsed.ErrorCount, [.. pages.Select(p => p.Count)], DatasetPaging.ContentHash(parsed.Items));
        var grain = grains.GetGrain<IDatasetGrain>(DatasetNames.Key(tenant, dataset));
        var version = await grain.BeginVersionAsync(actor);
        try
        {
            await Parallel.ForEachAsync(
                Enumerable.Range(0, pages.Count),
                new ParallelOptions { MaxDegreeOfParallelism = PageWriters },
                async (page, _) => await grains.GetGrain<IDatasetPageGrain>(DatasetNames.PageKey(tenant, dataset, version, page)).WriteAsync(pages[page]));
            var info = await grain.CommitVersionAsync(version, commit, actor);
            LogImported(logger, tenant, dataset, version, info.ItemCount, info.PageCount, parsed.ErrorCount);
            return new DatasetImport(info, parsed);
        }
        catch (Exception ex) when (ex is not PlatformException)
        {
            LogImportFailed(logger, tenant, dataset, version, ex);
            throw new PlatformException(
                ErrorKind.Unavailable, "The dataset could not be stored, so no version was created; send the import again.", code: "import_failed")
            {
                RetryAfterSeconds = 1,
            };
        }
    }

    /// <summary>A committed version (0 = the latest), or a 404.</summary>
    public async Task<DatasetVersionInfo> RequireVersionAsync(string tenant, string dataset, int version) =>
        (DatasetNames.IsValid(dataset) ? await Grain(tenant, dataset).GetVersionAsync(version) : null)
        ?? throw PlatformException.NotFound(version == 0 ? $"Dataset '{dataset}'" : $"Version {version} of dataset '{dataset}'");

    /// <summary>Items <paramref name="offset"/> .. <paramref name="offset"/> + <paramref name="limit"/> - 1 of a version, in import order.</summary>
    public async Task<IReadOnlyList<DatasetItem>> ReadItemsAsync(string tenant, string dataset, DatasetVersionInfo info, int offset, int limit)
    {
        var items = new List<DatasetItem>(Math.Min(limit, Math.Max(0, info.ItemCount - offset)));
        var (page, start) = (0, 0);
        while (page < info.PageCount && start + info.PageItemCounts[page] <= offset)
        {
            start += info.PageItemCounts[page++];
        }

        for (; page < info.PageCount && items.Count < limit; start += info.PageItemCounts[page++])
        {
            var block = await Grain(tenant, dataset).ReadPageAsync(info.Version, page);
            items.AddRange(block.Skip(Math.Max(0, offset - start)).Take(limit - items.Count));
        }

        return items;
    }

    /// <summary>Writes a version as JSON Lines, one page at a time (a page is the most it holds in memory).</summary>
    public async Task ExportAsync(string tenant, string dataset, DatasetVersionInfo info, Stream output, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        for (var page = 0; page < info.PageCount; page++)
        {
            foreach (var item in await Grain(tenant, dataset).ReadPageAsync(info.Version, page))
            {
                DatasetJsonLines.Write(buffer, item);
            }

            await output.WriteAsync(buffer.WrittenMemory, cancellationToken);
            await output.FlushAsync(cancellationToken);
            buffer.ResetWrittenCount();
        }
    }

    private IDatasetGrain Grain(string tenant, string dataset) => grains.GetGrain<IDatasetGrain>(DatasetNames.Key(tenant, dataset));

    [LoggerMessage(Level = LogLevel.Information, Message = "Dataset {Tenant}/{Dataset} version {Version} imported: {Items} items in {Pages} pages, {Skipped} lines skipped")]
    private static partial void LogImported(ILogger logger, string tenant, string dataset, int version, int items, int pages, int skipped);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dataset {Tenant}/{Dataset} version {Version} could not be stored; it stays invisible")]
    private static partial void LogImportFailed(ILogger logger, string tenant, string dataset, int version, Exception exception);
}
