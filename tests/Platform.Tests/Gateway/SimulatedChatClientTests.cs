using Microsoft.Extensions.AI;
using Platform.Gateway;
using Platform.Providers.Simulated;

namespace Platform.Tests.Gateway;

public sealed class SimulatedChatClientTests
{
    private static ChatMessage[] Prompt(string text) => [new(ChatRole.User, text)];

    [Fact]
    public async Task SameInputAndSeed_GiveTheSameAnswer_AcrossClientInstances()
    {
        var options = new SimulatedModelOptions { OutputWords = 12, Seed = 7 };

        var first = await new SimulatedChatClient("m", options).GetResponseAsync(Prompt("hello"));
        var second = await new SimulatedChatClient("m", options).GetResponseAsync(Prompt("hello"));

        Assert.Equal(first.Text, second.Text);
        Assert.Equal(12, first.Text.Split(' ').Length);
    }

    [Fact]
    public async Task DifferentSeeds_GiveDifferentAnswers()
    {
        var a = await new SimulatedChatClient("m", new SimulatedModelOptions { Seed = 1 }).GetResponseAsync(Prompt("hello"));
        var b = await new SimulatedChatClient("m", new SimulatedModelOptions { Seed = 2 }).GetResponseAsync(Prompt("hello"));

        Assert.NotEqual(a.Text, b.Text);
    }

    [Fact]
    public async Task ErrorRate_FailsAboutThatShareOfDistinctInputs()
    {
        var client = new SimulatedChatClient("m", new SimulatedModelOptions { ErrorRate = 0.2 });
        var failures = 0;
        for (var i = 0; i < 1000; i++)
        {
            try
            {
                await client.GetResponseAsync(Prompt($"request {i}"));
            }
            catch (SimulatedProviderException)
            {
                failures++;
            }
        }

        Assert.InRange(failures, 150, 250);
    }

    [Fact]
    public async Task MaxOutputTokens_TruncatesWithLengthFinishReason()
    {
        var client = new SimulatedChatClient("m", new SimulatedModelOptions { OutputWords = 30 });

        var response = await client.GetResponseAsync(Prompt("hi"), new ChatOptions { MaxOutputTokens = 5 });

        Assert.Equal(5, response.Text.Split(' ').Length);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
    }

    [Fact]
    public async Task Streaming_ProducesTheSameTextAsNonStreaming_AndEndsWithUsage()
    {
        var client = new SimulatedChatClient("m", new SimulatedModelOptions { OutputWords = 10 });
        var whole = await client.GetResponseAsync(Prompt("same"));

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Prompt("same")))
        {
            updates.Add(update);
        }

        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        var usage = updates[^1].Contents.OfType<UsageContent>().Single().Details;
        Assert.Equal(whole.Usage?.InputTokenCount, usage.InputTokenCount);
        Assert.True(usage.OutputTokenCount > 0);
    }

    [Fact]
    public async Task Quality_IsReportedAroundTheConfiguredMean()
    {
        var client = new SimulatedChatClient("m", new SimulatedModelOptions { Quality = 0.6 });
        var scores = new List<double>();
        for (var i = 0; i < 200; i++)
        {
            var response = await client.GetResponseAsync(Prompt($"q {i}"));
            scores.Add((double)response.AdditionalProperties![SimulatedChatClient.QualityProperty]!);
        }

        Assert.InRange(scores.Average(), 0.57, 0.63);
    }
}
