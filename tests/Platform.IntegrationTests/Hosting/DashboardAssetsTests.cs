using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using Microsoft.AspNetCore.Mvc.Testing;
using Orleans.Dashboard;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Hosting;

/// <summary>
/// The dashboard's static files are served on demand from the assembly (not loaded into memory at start-up),
/// byte for byte the files the dashboard package embeds.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class DashboardAssetsTests(PlatformFactory factory)
{
    private static readonly Assembly DashboardAssembly = typeof(DashboardOptions).Assembly;

    [Fact]
    public void TheDashboardsAssetProvider_HoldsNoFiles()
    {
        var providerType = DashboardAssembly.GetType("Orleans.Dashboard.EmbeddedAssetProvider", throwOnError: true)!;
        var provider = factory.Services.GetService(providerType);
        Assert.NotNull(provider);

        var cache = (System.Collections.ICollection)providerType
            .GetField("_resourceCache", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(provider)!;
        Assert.Empty(cache);
    }

    [Theory]
    [InlineData("/dashboard/", "index.html", "text/html")]
    [InlineData("/dashboard/index.min.js", "index.min.js", "text/javascript")]
    [InlineData("/dashboard/index.css", "index.css", "text/css")]
    [InlineData("/dashboard/fonts/fa-solid-900.woff2", "fonts.fa-solid-900.woff2", "font/woff2")]
    [InlineData("/dashboard/img/OrleansLogo.png", "img.OrleansLogo.png", "image/png")]
    public async Task Assets_AreTheEmbeddedFiles_PlainAndGzipped(string path, string resource, string contentType)
    {
        var expected = EmbeddedBytes(resource);
        using var client = factory.Admin();

        using var plain = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal(contentType, plain.Content.Headers.ContentType?.MediaType);
        Assert.Empty(plain.Content.Headers.ContentEncoding);
        Assert.Equal(expected, await plain.Content.ReadAsByteArrayAsync());

        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var zipped = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, zipped.StatusCode);
        var body = await zipped.Content.ReadAsByteArrayAsync();
        if (zipped.Content.Headers.ContentEncoding.Contains("gzip"))
        {
            Assert.True(body.Length < expected.Length);
            using var gunzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
            using var inflated = new MemoryStream();
            await gunzip.CopyToAsync(inflated);
            body = inflated.ToArray();
        }

        Assert.Equal(expected, body);
    }

    [Fact]
    public async Task TheScriptBundle_IsGzipped_AndRevalidatesWithItsETag()
    {
        using var client = factory.Admin();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/dashboard/index.min.js");
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var first = await client.SendAsync(request);
        Assert.Contains("gzip", first.Content.Headers.ContentEncoding);
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);

        using var again = new HttpRequestMessage(HttpMethod.Get, "/dashboard/index.min.js");
        again.Headers.IfNoneMatch.Add(etag);
        using var notModified = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
    }

    [Theory]
    [InlineData("/dashboard/index.min.js.map")]
    [InlineData("/dashboard/fonts/missing.woff2")]
    [InlineData("/dashboard/img/..%2Findex.min.js.map")]
    public async Task SourceMapsAndUnknownFiles_Are404(string path)
    {
        using var client = factory.Admin();
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task TheDashboardRoot_RedirectsToItsSlashForm_AndAssetsNeedAnAdminKey()
    {
        using var admin = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestEnvironment.AdminKey);
        using var redirect = await admin.GetAsync("/dashboard");
        Assert.Equal(HttpStatusCode.MovedPermanently, redirect.StatusCode);
        Assert.EndsWith("/dashboard/", redirect.Headers.Location?.ToString(), StringComparison.Ordinal);

        using var anonymous = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/dashboard/index.min.js")).StatusCode);
        using var client = factory.ClientWithKey(TestEnvironment.DemoKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/dashboard/index.css")).StatusCode);
    }

    private static byte[] EmbeddedBytes(string resource)
    {
        using var stream = DashboardAssembly.GetManifestResourceStream("Orleans.Dashboard.wwwroot." + resource)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
