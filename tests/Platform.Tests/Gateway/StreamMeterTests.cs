using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Budgets;
using Platform.Providers.Tokens;
using Platform.Silo.Gateway;
using Platform.Silo.Hosting;

namespace Platform.Tests.Gateway;

public sealed class StreamMeterTests
{
    private static Admission Limited(long maxOutput)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new PlatformOptions { Budgets = new BudgetOptions { Leases = false } });
        var agent = new BudgetAgent(null!, options, TimeProvider.System, NullLogger<BudgetAgent>.Instance);
        return new Admission(agent, "t/tenant/t", ["t/tenant/t"], [], true, "r1", new SpendDimensions("k", null, "m", null),
            new BudgetAmount(1, 100 + maxOutput, 1), [], maxOutput);
    }

    public static TheoryData<string, int> Streams => new()
    {
        { string.Concat(Enumerable.Range(0, 60).Select(i => $" tok{i:00}")), 64 },
        { string.Concat(Enumerable.Range(0, 80).Select(i => i % 7 == 0 ? "漢字の文章、" : " words and more")), 100 },
        { "Once upon a time " + string.Concat(Enumerable.Repeat("🙂", 200)) + " the end", 50 },
        { string.Concat(Enumerable.Range(0, 300).Select(i => $"{i},")), 90 },
    };

    [Theory]
    [MemberData(nameof(Streams))]
    public void EndsAStream_AtTheFirstChunkWhoseOutputPassesTheReservedTokens(string text, int maxOutput)
    {
        var meter = new StreamMeter(Limited(maxOutput));
        var output = new StringBuilder();
        int? endedAt = null;
        int? shouldEndAt = null;
        for (var at = 0; at < text.Length; at += 5)
        {
            var chunk = text.Substring(at, Math.Min(5, text.Length - at));
            if (char.IsHighSurrogate(chunk[^1]) && at + 5 < text.Length)
            {
                chunk += text[at + 5];
                at++;
            }

            output.Append(chunk);
            shouldEndAt ??= TokenCounter.Count(output.ToString()) > maxOutput ? output.Length : null;
            if (meter.Exhausted(output))
            {
                endedAt = output.Length;
                break;
            }
        }

        Assert.NotNull(shouldEndAt);
        Assert.NotNull(endedAt);

        // Counted in pieces split at whitespace, the meter may see a token more per piece boundary than the whole text has,
        // never fewer: it never lets the output run past what was reserved.
        Assert.InRange(endedAt!.Value, 1, shouldEndAt!.Value);
        Assert.True(TokenCounter.Count(output.ToString()) >= maxOutput - 2, $"ended early at {TokenCounter.Count(output.ToString())} tokens");
    }

    [Fact]
    public void AnUnlimitedAdmission_IsNeverMetered()
    {
        var options = Microsoft.Extensions.Options.Options.Create(new PlatformOptions { Budgets = new BudgetOptions { Leases = false } });
        var agent = new BudgetAgent(null!, options, TimeProvider.System, NullLogger<BudgetAgent>.Instance);
        var meter = new StreamMeter(new Admission(agent, "t/tenant/t", [], [], false, "", new SpendDimensions("k", null, "m", null), default, [], 0));

        Assert.False(meter.Exhausted(new StringBuilder(new string('x', 10_000))));
    }
}
