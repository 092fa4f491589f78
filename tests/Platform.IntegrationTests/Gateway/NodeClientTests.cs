using System.Diagnostics;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Gateway;

/// <summary>
/// The official <c>openai</c> npm package as a real caller of a real silo process on loopback
/// (installed into tests/Platform.IntegrationTests/node by test.sh).
/// </summary>
public sealed class NodeClientTests : IAsyncLifetime
{
    private readonly string _dataDirectory = TestEnvironment.NewTempDirectory("platform-node");
    private SiloProcess _silo = null!;

    public async Task InitializeAsync()
    {
        _silo = SiloProcess.Start(SiloProcess.EmbeddedSettings(_dataDirectory));
        await _silo.WaitReadyAsync(TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task OpenAiNpmClient_StreamsFromTheSimulatedModel_WithNonZeroUsageAndCost()
    {
        var result = await RunAsync("sim-small", "stream");

        Assert.True(result.GetProperty("ok").GetBoolean(), result.GetRawText());
        Assert.False(string.IsNullOrWhiteSpace(result.GetProperty("text").GetString()));
        Assert.True(result.GetProperty("chunks").GetInt32() > 2);
        Assert.Equal("stop", result.GetProperty("finishReason").GetString());
        Assert.True(result.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);
        Assert.True(result.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
        Assert.True(result.GetProperty("platform").GetProperty("cost_usd").GetDecimal() > 0);
    }

    [Fact]
    public async Task OpenAiNpmClient_NonStreaming_SeesUsageAndCostHeader()
    {
        var result = await RunAsync("sim-large", "complete");

        Assert.True(result.GetProperty("ok").GetBoolean(), result.GetRawText());
        Assert.True(result.GetProperty("usage").GetProperty("total_tokens").GetInt32() > 0);
        Assert.True(decimal.Parse(result.GetProperty("cost").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal("sim-large", result.GetProperty("route").GetString());
    }

    [Fact]
    public async Task OpenAiNpmClient_UnknownModel_GetsA404WithOpenAiErrorCode()
    {
        var result = await RunAsync("no-such-model", "complete");

        Assert.False(result.GetProperty("ok").GetBoolean());
        Assert.Equal(404, result.GetProperty("status").GetInt32());
        Assert.Equal("model_not_found", result.GetProperty("code").GetString());
    }

    private async Task<JsonElement> RunAsync(string model, string mode)
    {
        var directory = Path.Combine(TestEnvironment.RepoRoot, "tests", "Platform.IntegrationTests", "node");
        Assert.True(
            Directory.Exists(Path.Combine(directory, "node_modules", "openai")),
            "The openai npm package is not installed; run ./test.sh (npm ci --prefix tests/Platform.IntegrationTests/node).");
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "client.mjs", $"http://127.0.0.1:{_silo.HttpPort}/v1", TestEnvironment.DemoKey, model, mode })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var output = (await stdout).Trim();
        Assert.True(process.ExitCode == 0 && output.Length > 0, $"node exited {process.ExitCode}: {output}\n{await stderr}");
        using var doc = JsonDocument.Parse(output.Split('\n')[^1]);
        return doc.RootElement.Clone();
    }
}
