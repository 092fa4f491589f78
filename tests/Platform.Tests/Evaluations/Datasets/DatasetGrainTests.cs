using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Serialization;
using Platform.Evaluations;
using Platform.Evaluations.Datasets;
using Platform.Silo.Evaluations;
using Platform.Tenants;

namespace Platform.Tests.Evaluations.Datasets;

[Collection(ClusterCollection.Name)]
public sealed class DatasetGrainTests(ClusterFixture fixture)
{
    private static readonly Actor Developer = new("key_dev", "t", Role.Developer, "req-datasets");

    private static string NewTenant() => "d" + Guid.NewGuid().ToString("N")[..10];

    private DatasetService Service => new(fixture.Grains, NullLogger<DatasetService>.Instance);

    private static MemoryStream Body(string text) => new(Encoding.UTF8.GetBytes(text));

    private static string JsonLines(int count, string prefix = "i") =>
        string.Concat(Enumerable.Range(0, count).Select(i => $"{{\"id\":\"{prefix}{i}\",\"input\":{{\"q\":\"question {i}\"}},\"expected\":\"{i}\"}}\n"));

    private async Task<DatasetVersionInfo> ImportAsync(string tenant, string dataset, string jsonLines)
    {
        var import = await Service.ImportAsync(tenant, dataset, DatasetFormats.JsonLines, Body(jsonLines), false, Developer, CancellationToken.None);
        return import.Version ?? throw new InvalidOperationException(import.Parsed.Refusal(false));
    }

    private static async Task<List<DatasetItem>> ReadAllAsync(IDatasetGrain grain, DatasetVersionInfo info)
    {
        var items = new List<DatasetItem>();
        for (var page = 0; page < info.PageCount; page++)
        {
            items.AddRange(await grain.ReadPageAsync(info.Version, page));
        }

        return items;
    }

    [Fact]
    public async Task Import_Of100000Items_IsStoredInManyPages_AndReadsBackIdentically()
    {
        var tenant = NewTenant();
        var text = JsonLines(DatasetLimits.MaxItems);
        var expected = (await DatasetJsonLines.ParseAsync(new StringReader(text))).Items;

        var info = await ImportAsync(tenant, "big", text);

        Assert.Equal(DatasetLimits.MaxItems, info.ItemCount);
        Assert.True(info.PageCount > 1);
        Assert.Equal(DatasetLimits.MaxItems / DatasetLimits.PageItems, info.PageCount);
        var grain = fixture.Grains.GetGrain<IDatasetGrain>(DatasetNames.Key(tenant, "big"));
        var read = await ReadAllAsync(grain, info);
        Assert.True(DatasetPaging.SameItems(expected, read));
        Assert.Equal(DatasetPaging.ContentHash(expected), info.ContentHash);
        Assert.Equal(["big"], await fixture.Grains.GetGrain<IDatasetIndexGrain>(tenant).ListAsync());
    }

    [Fact]
    public async Task Version_BegunAndNeverCommitted_IsNotVisible_AndTheNextImportTakesTheNextNumber()
    {
        var tenant = NewTenant();
        var grain = fixture.Grains.GetGrain<IDatasetGrain>(DatasetNames.Key(tenant, "ds"));
        var first = await ImportAsync(tenant, "ds", JsonLines(3));

        // An import that died after writing its page, before its commit.
        var abandoned = await grain.BeginVersionAsync(Developer);
        var items = (await DatasetJsonLines.ParseAsync(new StringReader(JsonLines(2, "x")))).Items;
        await fixture.Grains.GetGrain<IDatasetPageGrain>(DatasetNames.PageKey(tenant, "ds", abandoned, 0)).WriteAsync(items);

        Assert.Equal(2, abandoned);
        Assert.Null(await grain.GetVersionAsync(abandoned));
        Assert.Equivalent(first, await grain.GetVersionAsync(0), strict: true);
        Assert.Equivalent(new[] { first }, await grain.ListVersionsAsync(), strict: true);
        var refused = await Assert.ThrowsAsync<PlatformException>(() => grain.ReadPageAsync(abandoned, 0));
        Assert.Equal(ErrorKind.NotFound, refused.Kind);

        var next = await ImportAsync(tenant, "ds", JsonLines(4));
        Assert.Equal(3, next.Version);
        Assert.Equivalent(next, await grain.GetVersionAsync(0), strict: true);
        Assert.Equal([1, 3], (await grain.ListVersionsAsync()).Select(v => v.Version));
    }

    [Fact]
    public async Task Commit_WithAPageMissing_IsRefused_AndLeavesNoVersion()
    {
        var tenant = NewTenant();
        var grain = fixture.Grains.GetGrain<IDatasetGrain>(DatasetNames.Key(tenant, "ds"));
        var version = await grain.BeginVersionAsync(Developer);
        var items = (await DatasetJsonLines.ParseAsync(new StringReader(JsonLines(3)))).Items;
        await fixture.Grains.GetGrain<IDatasetPageGrain>(DatasetNames.PageKey(tenant, "ds", version, 0)).WriteAsync(items);

        var refused = await Assert.ThrowsAsync<PlatformException>(() =>
            grain.CommitVersionAsync(version, new DatasetCommit(DatasetFormats.JsonLines, 0, [3, 2], "sha256:x"), Developer));

        Assert.Equal(ErrorKind.Conflict, refused.Kind);
        Assert.Contains("Page 1", refused.Message, StringComparison.Ordinal);
        Assert.Null(await grain.GetVersionAsync(0));
    }

    [Fact]
    public async Task Versions_AreImmutable_ASecondCommitOrPageWriteIsRefused_AndAnImportIsANewVersion()
    {
        var tenant = NewTenant();
        var grain = fixture.Grains.GetGrain<IDatasetGrain>(DatasetNames.Key(tenant, "ds"));
        var v1 = await ImportAsync(tenant, "ds", JsonLines(5));
        var before = await ReadAllAsync(grain, v1);
        var page = fixture.Grains.GetGrain<IDatasetPageGrain>(DatasetNames.PageKey(tenant, "ds", 1, 0));

        var recommit = await Assert.ThrowsAsync<PlatformException>(() =>
            grain.CommitVersionAsync(1, new DatasetCommit(DatasetFormats.JsonLines, 0, [5], v1.ContentHash), Developer));
        var rewrite = await Assert.ThrowsAsync<PlatformException>(() => page.WriteAsync(before.Take(2).ToList()));
        await page.WriteAsync(before);
        var v2 = await ImportAsync(tenant, "ds", JsonLines(2, "other"));

        Assert.Equal(ErrorKind.Conflict, recommit.Kind);
        Assert.Equal(ErrorKind.Conflict, rewrite.Kind);
        Assert.Equal(2, v2.Version);
        Assert.Equivalent(v1, await grain.GetVersionAsync(1), strict: true);
        Assert.True(DatasetPaging.SameItems(before, await ReadAllAsync(grain, v1)));
        Assert.Equal(["other0", "other1"], (await ReadAllAsync(grain, v2)).Select(i => i.Id));
    }

    [Fact]
    public async Task Import_WhoseStorageFailsHalfWay_IsRefusedAsRetryable_AndLeavesNoVersion()
    {
        var tenant = NewTenant();
        using (FaultyGrainStorage.Arm<DatasetPageGrainState>($"{tenant}/ds/1/1", FaultyGrainStorage.Mode.FailBeforeWrite))
        {
            var refused = await Assert.ThrowsAsync<PlatformException>(() => ImportAsync(tenant, "ds", JsonLines(1200)));
            Assert.Equal(ErrorKind.Unavailable, refused.Kind);
        }

        var grain = fixture.Grains.GetGrain<IDatasetGrain>(DatasetNames.Key(tenant, "ds"));
        Assert.Null(await grain.GetVersionAsync(0));
        Assert.Empty(await grain.ListVersionsAsync());
        Assert.Equal(2, (await ImportAsync(tenant, "ds", JsonLines(1200))).Version);
    }

    [Fact]
    public async Task Pages_AsSplit_SerializeWithinThePageBudget_WhateverTheItemsLookLike()
    {
        var serializer = fixture.Cluster.Client.ServiceProvider.GetRequiredService<Serializer>();
        var shapes = new[]
        {
            Enumerable.Range(0, 2000).Select(i => new DatasetItem(
                $"{i}", new Dictionary<string, string> { ["a"] = "", ["b"] = "1" }, [new DatasetMessage("user", "")], "", null, ["x", "y", "z"], "s")),
            Enumerable.Range(0, 40).Select(i => new DatasetItem(
                $"cjk{i}", new Dictionary<string, string> { ["q"] = new string('\u4e2d', 30_000) }, null, new string('\u00e9', 30_000), null, [], null)),
            Enumerable.Range(0, 40).Select(i => new DatasetItem(
                $"m{i}", null, [.. Enumerable.Range(0, 100).Select(m => new DatasetMessage("assistant", new string('w', 2_000)))], null, null, [], null)),
        };

        foreach (var shape in shapes)
        {
            var items = shape.ToList();
            foreach (var page in DatasetPaging.Split(items))
            {
                var bytes = serializer.SerializeToArray(new DatasetPageGrainState { Items = [.. page] }).Length;
                Assert.True(bytes <= DatasetLimits.PageBytes, $"A page of {page.Count} items serialized to {bytes} bytes.");
            }
        }
    }
}
