using System.Collections.Concurrent;
using System.IO.Compression;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;
using Orleans.Dashboard;

namespace Platform.Silo.Hosting;

/// <summary>
/// Serves the Orleans Dashboard's static files on demand instead of at start-up.
/// </summary>
/// <remarks>
/// <para>
/// <c>MapOrleansDashboard</c> (10.4.2) builds its asset provider while the endpoints are mapped, and that
/// provider reads every embedded file into the managed heap, gzips each one and keeps both copies: about
/// 17 MB of the assembly's pages (a 12.9 MB source map the dashboard never serves, a 3.8 MB script bundle)
/// and about 20 MB of byte arrays, held for the life of every silo whether anyone opens the dashboard or not.
/// That was a tenth of an idle silo's resident memory.
/// </para>
/// <para>
/// This class replaces the provider's registration with an empty one (it still exists for the dashboard's
/// own routes, which find nothing) and maps the same asset routes with a higher precedence. Files are
/// streamed from the assembly's manifest resources when asked for; the gzip copy of a file is made on its
/// first request and kept. If a future dashboard version renames what this relies on, nothing is replaced
/// and the dashboard serves its assets itself, as before.
/// </para>
/// </remarks>
internal static class DashboardAssets
{
    private const string ProviderTypeName = "Orleans.Dashboard.EmbeddedAssetProvider";
    private const string CacheFieldName = "_resourceCache";
    private static readonly Assembly DashboardAssembly = typeof(DashboardOptions).Assembly;
    private static readonly string ResourcePrefix = DashboardAssembly.GetName().Name + ".wwwroot.";
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();
    private static readonly ConcurrentDictionary<string, byte[]?> Compressed = new(StringComparer.Ordinal);
    private static readonly string VersionTag = DashboardAssembly.ManifestModule.ModuleVersionId.ToString("N")[..16];

    private static readonly (Type Provider, FieldInfo Cache, object Empty)? Eager = FindEagerProvider();

    /// <summary>Swaps the dashboard's eager asset provider for an empty one. Call after <c>AddDashboard</c>.</summary>
    public static void ReplaceEagerProvider(IServiceCollection services)
    {
        if (Eager is not var (providerType, cacheField, emptyCache))
        {
            return;
        }

        var registration = services.FirstOrDefault(d => d.ServiceType == providerType);
        if (registration is not null)
        {
            services.Remove(registration);
        }

        services.AddSingleton(providerType, _ =>
        {
            var provider = RuntimeHelpers.GetUninitializedObject(providerType);
            cacheField.SetValue(provider, emptyCache);
            return provider;
        });
    }

    private static (Type, FieldInfo, object)? FindEagerProvider()
    {
        var providerType = DashboardAssembly.GetType(ProviderTypeName, throwOnError: false);
        var cacheField = providerType?.GetField(CacheFieldName, BindingFlags.Instance | BindingFlags.NonPublic);
        var emptyCache = cacheField?.FieldType.GetProperty("Empty", BindingFlags.Static | BindingFlags.Public)?.GetValue(null);
        return providerType is null || cacheField is null || emptyCache is null ? null : (providerType, cacheField, emptyCache);
    }

    /// <summary>
    /// Maps the dashboard's asset routes under <paramref name="prefix"/>, ahead of the dashboard's own.
    /// The returned builders carry no authorization: the caller adds the same policy as the dashboard's.
    /// </summary>
    public static IEnumerable<RouteHandlerBuilder> MapDashboardAssets(this IEndpointRouteBuilder endpoints, string prefix)
    {
        if (Eager is null)
        {
            yield break;
        }

        // One pattern matches both "/dashboard" and "/dashboard/"; the page's relative links need the slash.
        yield return endpoints.MapGet(prefix, (HttpContext context) =>
        {
            var path = context.Request.Path.Value;
            return path is not null && !path.EndsWith('/')
                ? Results.Redirect($"{context.Request.PathBase}{path}/{context.Request.QueryString}", permanent: true)
                : Serve("index.html", context);
        }).WithOrder(-1).ExcludeFromDescription();
        foreach (var file in (string[])["index.html", "favicon.ico", "index.min.js", "index.css"])
        {
            yield return endpoints.MapGet($"{prefix}/{file}", (HttpContext context) => Serve(file, context)).WithOrder(-1).ExcludeFromDescription();
        }

        foreach (var folder in (string[])["fonts", "img"])
        {
            yield return endpoints.MapGet($"{prefix}/{folder}/{{**path}}", (string path, HttpContext context) => Serve($"{folder}/{path}", context))
                .WithOrder(-1).ExcludeFromDescription();
        }
    }

    private static IResult Serve(string name, HttpContext context)
    {
        var resource = ResourcePrefix + name.Replace('/', '.');
        if (name.Contains("..", StringComparison.Ordinal) || name.EndsWith(".map", StringComparison.OrdinalIgnoreCase))
        {
            return Results.NotFound();
        }

        var etag = new EntityTagHeaderValue($"\"{VersionTag}-{Fnv1a.Append(Fnv1a.Offset, resource):x8}\"");
        var stream = DashboardAssembly.GetManifestResourceStream(resource);
        if (stream is null)
        {
            return Results.NotFound();
        }

        if (context.Request.Headers.IfNoneMatch == etag.ToString())
        {
            stream.Dispose();
            context.Response.Headers.ETag = etag.ToString();
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        var contentType = ContentTypes.TryGetContentType(name, out var type) ? type : "application/octet-stream";
        context.Response.Headers.CacheControl = "no-cache, no-store";
        context.Response.Headers.Vary = "Accept-Encoding";
        if (AcceptsGzip(context.Request))
        {
            var gzip = Compressed.GetOrAdd(resource, static (_, s) => Compress(s), stream);
            if (gzip is not null)
            {
                stream.Dispose();
                context.Response.Headers.ContentEncoding = "gzip";
                return Results.Bytes(gzip, contentType, entityTag: etag);
            }

            stream.Position = 0;
        }

        return Results.Stream(stream, contentType, entityTag: etag);
    }

    /// <summary>The gzip form of a resource, or null when it is not smaller (fonts and images already are compressed).</summary>
    private static byte[]? Compress(Stream source)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            source.CopyTo(gzip);
        }

        return buffer.Length < source.Length ? buffer.ToArray() : null;
    }

    private static bool AcceptsGzip(HttpRequest request)
    {
        var accepted = request.GetTypedHeaders().AcceptEncoding;
        return accepted.Any(e => (e.Quality ?? 1) > 0 && string.Equals(e.Value.Value, "gzip", StringComparison.OrdinalIgnoreCase));
    }
}
