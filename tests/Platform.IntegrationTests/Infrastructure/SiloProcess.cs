using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>A real <c>Platform.Silo</c> process on loopback: started with settings, stopped with SIGTERM or killed with SIGKILL.</summary>
public sealed partial class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SiloProcess(Process process, int httpPort)
    {
        _process = process;
        HttpPort = httpPort;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int HttpPort { get; }

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

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// The TCP endpoints this process listens on, from <c>/proc/net/tcp</c> and <c>tcp6</c> (sockets matched by inode
    /// with <c>/proc/{pid}/fd</c>), so a test sees every port the process opened, not only the ones it expects.
    /// </summary>
    public IReadOnlyList<IPEndPoint> ListeningEndpoints()
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{_process.Id}/fd"))
        {
            var target = new FileInfo(fd).LinkTarget;
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                inodes.Add(target["socket:[".Length..^1]);
            }
        }

        var endpoints = new List<IPEndPoint>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (columns.Length > 9 && columns[3] == "0A" && inodes.Contains(columns[9]))
                {
                    var (address, port) = (columns[1][..columns[1].IndexOf(':')], columns[1][(columns[1].IndexOf(':') + 1)..]);
                    endpoints.Add(new IPEndPoint(ParseProcAddress(address), Convert.ToInt32(port, 16)));
                }
            }
        }

        return endpoints;
    }

    /// <summary>An address of <c>/proc/net/tcp*</c>: 32-bit words in host (little-endian) order.</summary>
    private static IPAddress ParseProcAddress(string hex)
    {
        var bytes = Convert.FromHexString(hex);
        for (var i = 0; i < bytes.Length; i += 4)
        {
            Array.Reverse(bytes, i, 4);
        }

        return new IPAddress(bytes);
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>
    /// Starts the silo; settings are passed as <c>--Key=Value</c> command-line arguments, <paramref name="environment"/> as
    /// environment variables (the way the standard <c>OTEL_*</c> variables reach a real deployment).
    /// </summary>
    public static SiloProcess Start(IDictionary<string, string> settings, int? httpPort = null, IDictionary<string, string>? environment = null)
    {
        var port = httpPort ?? TestEnvironment.FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(TestEnvironment.SiloDll);
        info.ArgumentList.Add($"--urls=http://127.0.0.1:{port}");
        foreach (var (key, value) in settings)
        {
            info.ArgumentList.Add($"--{key}={value}");
        }

        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return new SiloProcess(Process.Start(info)!, port);
    }

    /// <summary>Embedded-profile settings with free cluster ports and the test bootstrap keys.</summary>
    public static Dictionary<string, string> EmbeddedSettings(string dataDirectory) => new()
    {
        ["Platform:DataDirectory"] = dataDirectory,
        ["Platform:Cluster:SiloPort"] = TestEnvironment.FreePort().ToString(),
        ["Platform:Bootstrap:AdminKey"] = TestEnvironment.AdminKey,
        ["Platform:Bootstrap:DemoClientKey"] = TestEnvironment.DemoKey,
    };

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Silo exited with {_process.ExitCode} before it was ready:\n{Output}");
            }

            try
            {
                using var response = await Http.GetAsync("/health/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"Silo not ready within {timeout}:\n{Output}");
    }

    public static HttpRequestMessage Request(HttpMethod method, string path, string key, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }

    /// <summary>SIGTERM, then waits for a graceful exit.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 15);
        }

        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no goodbye to the cluster.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 9);
            _process.WaitForExit(10_000);
        }
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        KillHard();
        await Task.Yield();
        Http.Dispose();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
