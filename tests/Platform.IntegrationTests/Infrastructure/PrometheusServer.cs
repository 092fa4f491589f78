using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>
/// A real Prometheus server (Debian's <c>prometheus</c> package, installed by <c>test.sh</c>) on a free loopback port, with a
/// temporary configuration that scrapes one target every second using a bearer key from a file, as an operator would.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _output = new();

    private PrometheusServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public HttpClient Http { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static PrometheusServer Start(string target, string metricsPath, string bearerKey)
    {
        var binary = new[] { "/usr/bin/prometheus", "/usr/local/bin/prometheus" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("prometheus is not installed; ./test.sh installs it (apt-get install prometheus).");
        var directory = TestEnvironment.NewTempDirectory("platform-prometheus");
        var keyFile = Path.Combine(directory, "platform-admin-key");
        File.WriteAllText(keyFile, bearerKey);
        var config = Path.Combine(directory, "prometheus.yml");
        File.WriteAllText(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: llm-platform
                metrics_path: {metricsPath}
                authorization:
                  type: Bearer
                  credentials_file: {keyFile}
                static_configs:
                  - targets: ['{target}']
            """);
        var port = TestEnvironment.FreePort();
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        info.ArgumentList.Add($"--config.file={config}");
        info.ArgumentList.Add($"--storage.tsdb.path={Path.Combine(directory, "data")}");
        info.ArgumentList.Add($"--web.listen-address=127.0.0.1:{port}");
        return new PrometheusServer(Process.Start(info)!, directory, port);
    }

    /// <summary>The value of an instant query returning one sample, or null when it returns none (or Prometheus is not up yet).</summary>
    public async Task<double?> QueryScalarAsync(string query)
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"prometheus exited with {_process.ExitCode}:\n{Output}");
        }

        try
        {
            using var json = JsonDocument.Parse(await Http.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString(query)));
            var result = json.RootElement.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0
                ? null
                : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>The health of the scrape target as Prometheus sees it (<c>up</c>, <c>down</c>, <c>unknown</c>) and its last error.</summary>
    public async Task<string> TargetsAsync()
    {
        try
        {
            return await Http.GetStringAsync("/api/v1/targets");
        }
        catch (HttpRequestException ex)
        {
            return ex.Message;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Http.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
