namespace Platform.Silo.Hosting;

/// <summary>Settings under <c>Platform</c>; every one can come from appsettings, environment or command line.</summary>
public sealed class PlatformOptions
{
    public const string SectionName = "Platform";

    /// <summary><c>Platform:Profile</c>: <c>embedded</c> (default), <c>azure</c> or <c>kubernetes</c> (azure plus Kubernetes hosting).</summary>
    public string Profile { get; set; } = PlatformProfiles.Embedded;

    /// <summary><c>Platform:DataDirectory</c>: where the embedded profile keeps its SQLite file. Default <c>./data</c>.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary><c>Platform:ClusterId</c>: silos with the same id form one cluster. Default <c>platform</c>.</summary>
    public string ClusterId { get; set; } = "platform";

    /// <summary><c>Platform:ServiceId</c>: stable across deployments; keys stored state. Default <c>platform</c>.</summary>
    public string ServiceId { get; set; } = "platform";

    /// <summary><c>Platform:ShutdownTimeoutSeconds</c>: how long SIGTERM waits for in-flight requests and the silo to leave. Default 30.</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 30;

    public ClusterEndpointOptions Cluster { get; set; } = new();

    public AzureProfileOptions Azure { get; set; } = new();

    public KubernetesProfileOptions Kubernetes { get; set; } = new();

    public BootstrapOptions Bootstrap { get; set; } = new();

    public WebhookOptions Webhooks { get; set; } = new();

    public PlatformAuthenticationOptions Authentication { get; set; } = new();

    public BudgetOptions Budgets { get; set; } = new();

    public RequestLogOptions RequestLog { get; set; } = new();

    /// <summary><c>Platform:Models</c>: the model catalog (routes clients name in <c>model</c>).</summary>
    public List<Platform.Gateway.ModelRoute> Models { get; set; } = [];

    /// <summary>True when the Azure Storage providers back the cluster (profiles <c>azure</c> and <c>kubernetes</c>).</summary>
    public bool UsesAzure =>
        string.Equals(Profile, PlatformProfiles.Azure, StringComparison.OrdinalIgnoreCase)
        || string.Equals(Profile, PlatformProfiles.Kubernetes, StringComparison.OrdinalIgnoreCase);

    /// <summary>True when Orleans' Kubernetes hosting is switched on.</summary>
    public bool UsesKubernetes =>
        Kubernetes.Enabled || string.Equals(Profile, PlatformProfiles.Kubernetes, StringComparison.OrdinalIgnoreCase);
}

/// <summary><c>Platform:Budgets</c>: how the gateway reserves against budgets.</summary>
public sealed class BudgetOptions
{
    /// <summary>
    /// <c>Platform:Budgets:ReservationSeconds</c>: how long a silo's reservations outlive its last word to a budget grain. The silo
    /// renews them every third of this while requests are in flight; if it dies, they are charged at their worst case after
    /// this long. Default 60; 2 to 3600.
    /// </summary>
    public int ReservationSeconds { get; set; } = 60;

    /// <summary>
    /// <c>Platform:Budgets:DefaultMaxOutputTokens</c>: the output reserved for a request that names no <c>max_tokens</c> when a
    /// budget applies (and then sent upstream as its <c>max_tokens</c>, so it cannot cost more). Default 4096.
    /// </summary>
    public int DefaultMaxOutputTokens { get; set; } = 4096;

    /// <summary>
    /// <c>Platform:Budgets:Leases</c>: whether a silo may lease a slice of a busy scope's budget and admit requests from it
    /// itself (tenant, key and deployment scopes, while far from their limits), instead of reserving each request on the
    /// scope's grain. Default true.
    /// </summary>
    public bool Leases { get; set; } = true;
}

/// <summary><c>Platform:RequestLog</c>: the per-request log each silo writes in batches (DuckDB embedded, Azure Table on azure).</summary>
public sealed class RequestLogOptions
{
    /// <summary><c>Platform:RequestLog:Enabled</c>: record every <c>/v1</c> request in the request log. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// <c>Platform:RequestLog:QueueCapacity</c>: rows a silo holds in memory while its writer catches up; past it rows are
    /// dropped and counted (<c>platform.requestlog.rows_dropped</c>). Default 50000; 1 to 10000000.
    /// </summary>
    public int QueueCapacity { get; set; } = 50_000;

    /// <summary><c>Platform:RequestLog:BatchSize</c>: most rows written in one batch (one transaction). Default 2000; 1 to 100000.</summary>
    public int BatchSize { get; set; } = 2_000;

    /// <summary><c>Platform:RequestLog:FlushMilliseconds</c>: longest a row waits for its batch to fill. Default 150; 1 to 60000.</summary>
    public int FlushMilliseconds { get; set; } = 150;

    /// <summary>
    /// <c>Platform:RequestLog:RetentionIntervalMinutes</c>: how often each tenant's rows older than its retention are deleted
    /// (a reminder). Default 1440 (daily); 1 to 10080.
    /// </summary>
    public int RetentionIntervalMinutes { get; set; } = 1440;
}

public static class PlatformProfiles
{
    public const string Embedded = "embedded";
    public const string Azure = "azure";
    public const string Kubernetes = "kubernetes";

    public static readonly IReadOnlyList<string> All = [Embedded, Azure, Kubernetes];
}

public sealed class ClusterEndpointOptions
{
    /// <summary><c>Platform:Cluster:SiloPort</c>: silo-to-silo port. Default 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>
    /// <c>Platform:Cluster:GatewayPort</c>: port of the Orleans client gateway, for external Orleans clients. Default: none, the
    /// gateway is not opened (the platform's own clients, the CLI included, use HTTP; nothing in it needs an Orleans client).
    /// </summary>
    public int? GatewayPort { get; set; }

    /// <summary>
    /// <c>Platform:Cluster:AdvertisedAddress</c>: IP other silos reach this one on (azure profile). Default: the host's address.
    /// The embedded profile always listens on loopback; the azure profile listens on loopback when this is a loopback
    /// address, otherwise on every interface (containers often cannot bind the address they are reached on).
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    public ClusterTlsOptions Tls { get; set; } = new();
}

/// <summary>
/// <c>Platform:Cluster:Tls</c>: mutual TLS between silos (and on the client gateway, if opened). Every silo presents the
/// configured certificate and accepts a peer only if it presents the same one (pinned by thumbprint, so a self-signed
/// certificate shared through a secret is enough). Off unless a certificate is configured; required on the kubernetes profile.
/// </summary>
public sealed class ClusterTlsOptions
{
    /// <summary>
    /// <c>Platform:Cluster:Tls:CertificatePath</c>: the certificate, as a PKCS#12 file (<c>.pfx</c>/<c>.p12</c>) holding
    /// its private key, or a PEM file (then <see cref="PrivateKeyPath"/> names the PEM key). Default: none (TLS off).
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary><c>Platform:Cluster:Tls:CertificatePassword</c>: password of the PKCS#12 file. Default: none.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary><c>Platform:Cluster:Tls:PrivateKeyPath</c>: PEM private key of a PEM certificate (for example a Kubernetes TLS secret's <c>tls.key</c>). Default: none.</summary>
    public string? PrivateKeyPath { get; set; }

    /// <summary>True when a certificate is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}

public sealed class AzureProfileOptions
{
    /// <summary><c>Platform:Azure:ConnectionString</c>: the one Azure Storage connection string (tables, blobs, queues). Required for azure.</summary>
    public string? ConnectionString { get; set; }

    /// <summary><c>Platform:Azure:GrainStorage</c>: <c>table</c> (default) or <c>blob</c>.</summary>
    public string GrainStorage { get; set; } = "table";

    /// <summary><c>Platform:Azure:QueueCount</c>: Azure queues behind the stream provider. Default 4.</summary>
    public int QueueCount { get; set; } = 4;
}

public sealed class KubernetesProfileOptions
{
    /// <summary><c>Platform:Kubernetes:Enabled</c>: use Orleans' Kubernetes hosting on top of azure. Default false.</summary>
    public bool Enabled { get; set; }
}

public sealed class BootstrapOptions
{
    /// <summary><c>Platform:Bootstrap:AdminKey</c>: the first admin key (32+ characters). Default: generated and printed once.</summary>
    public string? AdminKey { get; set; }

    /// <summary><c>Platform:Bootstrap:DemoClientKey</c>: the demo tenant's client key (32+ characters). Default: generated and printed once.</summary>
    public string? DemoClientKey { get; set; }

    /// <summary><c>Platform:Bootstrap:CreateDemoTenant</c>: create the <c>demo</c> tenant on first start. Default: true on the embedded profile only.</summary>
    public bool? CreateDemoTenant { get; set; }
}

public sealed class PlatformAuthenticationOptions
{
    /// <summary>
    /// <c>Platform:Authentication:FailureLimit</c>: failed authentications (a malformed, unknown, revoked or
    /// expired key) one client address may make per window before it is answered 429 with <c>Retry-After</c>.
    /// Successful requests do not count. 0 switches the limit off. Default 20.
    /// </summary>
    public int FailureLimit { get; set; } = 20;

    /// <summary><c>Platform:Authentication:FailureWindowSeconds</c>: the window of <see cref="FailureLimit"/>, 1-3600. Default 60.</summary>
    public int FailureWindowSeconds { get; set; } = 60;
}

public sealed class WebhookOptions
{
    /// <summary><c>Platform:Webhooks:AllowPrivateNetworks</c>: let tenants point webhooks at loopback, private or link-local addresses. Default false.</summary>
    public bool AllowPrivateNetworks { get; set; }
}
