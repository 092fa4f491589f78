using System.Net;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Platform.Gateway;
using Platform.Tenants;

namespace Platform.Silo.Hosting;

/// <summary>
/// Validates <see cref="PlatformOptions"/> before anything starts. Each failure names the
/// setting to fix, so a wrong value stops the process with one readable line.
/// </summary>
public sealed class PlatformOptionsValidator : IValidateOptions<PlatformOptions>
{
    public ValidateOptionsResult Validate(string? name, PlatformOptions options)
    {
        var failures = new List<string>();
        if (!PlatformProfiles.All.Contains(options.Profile, StringComparer.OrdinalIgnoreCase))
        {
            failures.Add($"Platform:Profile '{options.Profile}' is not a profile; use one of: {string.Join(", ", PlatformProfiles.All)}.");
            return ValidateOptionsResult.Fail(failures);
        }

        if (string.IsNullOrWhiteSpace(options.ClusterId))
        {
            failures.Add("Platform:ClusterId must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.ServiceId))
        {
            failures.Add("Platform:ServiceId must not be empty.");
        }

        if (options.ShutdownTimeoutSeconds is < 1 or > 3600)
        {
            failures.Add($"Platform:ShutdownTimeoutSeconds must be between 1 and 3600 (was {options.ShutdownTimeoutSeconds}).");
        }

        ValidatePort(failures, "Platform:Cluster:SiloPort", options.Cluster.SiloPort);
        if (options.Cluster.GatewayPort is { } gatewayPort)
        {
            ValidatePort(failures, "Platform:Cluster:GatewayPort", gatewayPort);
        }

        ClusterCertificate.TryLoad(options.Cluster.Tls, TimeProvider.System, failures)?.Dispose();
        if (options.UsesKubernetes && !options.Cluster.Tls.Enabled)
        {
            // Pods share the cluster network with every other workload, and a NetworkPolicy only holds where the network
            // plugin enforces it: on Kubernetes the silo port must authenticate its peers itself.
            failures.Add("Platform:Cluster:Tls:CertificatePath is required on the kubernetes profile (silo-to-silo mutual TLS; "
                + "k8s/README.md shows how to create the platform-cluster-tls secret).");
        }
        if (options.Cluster.AdvertisedAddress is { Length: > 0 } address && !IPAddress.TryParse(address, out _))
        {
            failures.Add($"Platform:Cluster:AdvertisedAddress '{address}' is not an IP address.");
        }

        ValidateBootstrapKey(failures, "Platform:Bootstrap:AdminKey", "Platform__Bootstrap__AdminKey", options.Bootstrap.AdminKey);
        ValidateBootstrapKey(failures, "Platform:Bootstrap:DemoClientKey", "Platform__Bootstrap__DemoClientKey", options.Bootstrap.DemoClientKey);
        if (options.Bootstrap.AdminKey is { Length: > 0 } && options.Bootstrap.AdminKey == options.Bootstrap.DemoClientKey)
        {
            failures.Add("Platform:Bootstrap:DemoClientKey must differ from Platform:Bootstrap:AdminKey.");
        }

        if (options.Authentication.FailureLimit is < 0 or > 1_000_000)
        {
            failures.Add($"Platform:Authentication:FailureLimit must be between 0 (off) and 1000000 (was {options.Authentication.FailureLimit}).");
        }

        if (options.Authentication.FailureWindowSeconds is < 1 or > 3600)
        {
            failures.Add($"Platform:Authentication:FailureWindowSeconds must be between 1 and 3600 (was {options.Authentication.FailureWindowSeconds}).");
        }

        failures.AddRange(ModelRouteRules.Validate(options.Models, "Platform:Models"));
        if (options.Budgets.ReservationSeconds is < 2 or > 3600)
        {
            failures.Add("Platform:Budgets:ReservationSeconds must be between 2 and 3600.");
        }

        if (options.Budgets.DefaultMaxOutputTokens is < 1 or > 1_000_000)
        {
            failures.Add("Platform:Budgets:DefaultMaxOutputTokens must be between 1 and 1000000.");
        }

        ValidateRequestLog(failures, options.RequestLog);
        if (options.UsesAzure)
        {
            ValidateAzure(failures, options.Azure);
        }
        else
        {
            if (options.UsesKubernetes)
            {
                failures.Add("Platform:Kubernetes:Enabled requires Platform:Profile 'azure' (Kubernetes hosting runs on Azure Storage clustering).");
            }

            ValidateDataDirectory(failures, options.DataDirectory);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateBootstrapKey(List<string> failures, string setting, string environment, string? key)
    {
        if (key is not null && !ApiKeySecret.IsWellFormed(key))
        {
            failures.Add($"{setting} (environment {environment}) must be {ApiKeySecret.FormatDescription} (was {key.Length} characters).");
        }
    }

    private static void ValidateRequestLog(List<string> failures, RequestLogOptions log)
    {
        void Range(string setting, int value, int min, int max)
        {
            if (value < min || value > max)
            {
                failures.Add($"Platform:RequestLog:{setting} must be between {min} and {max} (was {value}).");
            }
        }

        Range("QueueCapacity", log.QueueCapacity, 1, 10_000_000);
        Range("BatchSize", log.BatchSize, 1, 100_000);
        Range("FlushMilliseconds", log.FlushMilliseconds, 1, 60_000);
        Range("RetentionIntervalMinutes", log.RetentionIntervalMinutes, 1, 10_080);
    }

    private static void ValidatePort(List<string> failures, string setting, int port)
    {
        if (port is < 1 or > 65535)
        {
            failures.Add($"{setting} must be a TCP port between 1 and 65535 (was {port}).");
        }
    }

    private static void ValidateAzure(List<string> failures, AzureProfileOptions azure)
    {
        if (string.IsNullOrWhiteSpace(azure.ConnectionString))
        {
            failures.Add("Platform:Azure:ConnectionString is required for the azure profile (environment: Platform__Azure__ConnectionString).");
        }
        else
        {
            try
            {
                _ = new TableServiceClient(azure.ConnectionString);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
            {
                failures.Add($"Platform:Azure:ConnectionString is not a valid Azure Storage connection string ({ex.Message.TrimEnd('.')}).");
            }
        }

        if (azure.GrainStorage is not ("table" or "blob"))
        {
            failures.Add($"Platform:Azure:GrainStorage '{azure.GrainStorage}' must be 'table' or 'blob'.");
        }

        if (azure.QueueCount is < 1 or > 64)
        {
            failures.Add($"Platform:Azure:QueueCount must be between 1 and 64 (was {azure.QueueCount}).");
        }
    }

    private static void ValidateDataDirectory(List<string> failures, string dataDirectory)
    {
        if (string.IsNullOrWhiteSpace(dataDirectory))
        {
            failures.Add("Platform:DataDirectory must not be empty.");
            return;
        }

        var full = Path.GetFullPath(dataDirectory);
        try
        {
            Directory.CreateDirectory(full);
            var probe = Path.Combine(full, $".write-probe-{Environment.ProcessId}");
            File.WriteAllText(probe, "ok");
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            failures.Add($"Platform:DataDirectory '{full}' is not writable ({ex.Message.TrimEnd('.')}).");
        }
    }
}

/// <summary>Thrown when the configuration cannot start the platform; its message is the whole story.</summary>
public sealed class PlatformConfigurationException(string message) : Exception(message);
