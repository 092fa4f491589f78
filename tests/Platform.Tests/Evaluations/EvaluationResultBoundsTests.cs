using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Platform.Evaluations;

namespace Platform.Tests.Evaluations;

[Collection(ClusterCollection.Name)]
public sealed class EvaluationResultBoundsTests(ClusterFixture fixture)
{
    [Fact]
    public void Cut_KeepsWithinCharactersAndBytes_AndNeverSplitsASurrogatePair()
    {
        Assert.Equal("abc", EvaluationItemResult.Cut("abc", 10, 10));
        Assert.Equal("ab", EvaluationItemResult.Cut("abcdef", 2, 100));
        Assert.Equal("日本", EvaluationItemResult.Cut("日本語", 10, 7));      // 3 bytes each
        Assert.Equal("a", EvaluationItemResult.Cut("a😀b", 10, 4));          // the emoji's 4 bytes do not fit after 'a'
        Assert.Equal("a😀", EvaluationItemResult.Cut("a😀b", 10, 5));
        Assert.Null(EvaluationItemResult.Cut(null, 1, 1));
    }

    [Fact]
    public void AFullPageOfWorstCaseResults_SerializesUnderAnAzureTableEntity()
    {
        // Every field at its largest, in a 3-byte script: 8,000-character outputs, 20 reasons of 1,000 characters, long errors.
        var wide = new string('語', 20_000);
        var results = Enumerable.Range(0, IEvaluationResultPageGrain.PageSize)
            .Select(i => new EvaluationItemResult(
                i, new string('x', 128), wide, 1, 1, 1, 1, 1, wide,
                [.. Enumerable.Range(0, 20).Select(e => new ItemScore(new string('e', 64) + e, 0.5, true, wide))]).Bounded())
            .ToList();

        Assert.All(results, r => Assert.True(Encoding.UTF8.GetByteCount(r.Output!) <= EvaluationItemResult.MaxOutputBytes));
        var serializer = fixture.Cluster.Client.ServiceProvider.GetRequiredService<Serializer>();
        var bytes = serializer.SerializeToArray(new EvaluationResultPageState { Results = results });
        Assert.True(bytes.Length < 900 * 1024, $"a full page is {bytes.Length / 1024} KB");
    }
}
