using System.Net;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Connections.Security;
using Orleans.Runtime.Hosting;
using Orleans.Storage;
using Platform.Hosting;
using Platform.Silo.Health;
using Platform.Silo.Storage;

namespace Platform.Silo.Hosting;

/// <summary>Wires the Orleans providers of the configured profile. The profile is configuration, never a code fork.</summary>
public static class ClusterProfileExtensions
{
    public static ISiloBuilder AddPlatformCluster(this ISiloBuilder silo, PlatformOptions options)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = options.ClusterId;
            o.ServiceId = options.ServiceId;
        });
        silo.Configure<ClusterMembershipOptions>(TuneMembership);

        // Orleans preallocates its grain-location cache for a million entries (~9 MB at idle); a silo of this
        // platform caches far fewer remote grains, and a miss only costs one directory lookup.
        silo.Configure<GrainDirectoryOptions>(o => o.CacheSize = 100_000);
        silo.Services.AddSingleton<IGrainStorageSerializer>(sp => new OrleansGrainStorageSerializer(sp.GetRequiredService<Orleans.Serialization.Serializer>()));
        silo.Services.AddSingleton(new Platform.Gateway.ConfiguredModelRoutes(options.Models));
        silo.Services.AddPlatformGrainServices(options.Webhooks.AllowPrivateNetworks);
        silo.Services.AddSingleton(sp => new SiloLossRetryPolicy(sp.GetRequiredService<TimeProvider>()));
        silo.AddOutgoingGrainCallFilter<SiloLossRetryFilter>();
        silo.AddReminders();

        if (options.UsesAzure)
        {
            silo.AddAzureProfile(options);
        }
        else
        {
            silo.AddEmbeddedProfile(options);
        }

        silo.AddClusterTls(options.Cluster.Tls);
        return silo;
    }

    /// <summary>
    /// Mutual TLS on the silo port (and the gateway, if opened): each silo presents the configured certificate and
    /// accepts only a peer presenting the same one. A connection that does not complete that handshake is closed
    /// before any Orleans message is read.
    /// </summary>
    private static void AddClusterTls(this ISiloBuilder silo, ClusterTlsOptions tls)
    {
        if (!tls.Enabled)
        {
            return;
        }

        var failures = new List<string>();
        var certificate = ClusterCertificate.TryLoad(tls, TimeProvider.System, failures)
            ?? throw new PlatformConfigurationException(string.Join(Environment.NewLine, failures));
        var thumbprint = certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        silo.UseTls(certificate, o =>
        {
            o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
            o.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
            o.CheckCertificateRevocation = false;

            // Trust is the pinned certificate, not a chain: a self-signed certificate in a shared secret is enough.
            o.RemoteCertificateValidation = (remote, _, _) =>
                remote is not null && remote.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256).AsSpan().SequenceEqual(thumbprint);
        });
    }

    /// <summary>
    /// Listening endpoints: the silo port on <paramref name="listen"/>, the client gateway only when
    /// <c>Platform:Cluster:GatewayPort</c> is set (Orleans opens it whenever a gateway port or endpoint is configured).
    /// </summary>
    private static void ConfigureListening(this ISiloBuilder silo, IPAddress listen, ClusterEndpointOptions cluster) =>
        silo.Configure<EndpointOptions>(o =>
        {
            o.SiloListeningEndpoint = new IPEndPoint(listen, cluster.SiloPort);
            o.GatewayPort = cluster.GatewayPort ?? 0;
            o.GatewayListeningEndpoint = cluster.GatewayPort is { } gateway ? new IPEndPoint(listen, gateway) : null;
        });

    /// <summary>Services the grains take in their constructors (test clusters call this too).</summary>
    public static IServiceCollection AddPlatformGrainServices(this IServiceCollection services, bool allowPrivateWebhooks = false)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(new Platform.Gateway.ConfiguredModelRoutes([]));
        services.TryAddSingleton(_ => Platform.Notifications.WebhookSender.Create(allowPrivateWebhooks));
        return services;
    }

    /// <summary>
    /// Declares a dead silo in about two seconds instead of the default fifteen: probes every
    /// half second, three misses, and one vote suffices when only one other silo is left.
    /// </summary>
    public static void TuneMembership(ClusterMembershipOptions o)
    {
        o.ProbeTimeout = TimeSpan.FromMilliseconds(500);
        o.NumMissedProbesLimit = 3;
        o.NumProbedSilos = 3;
        o.NumVotesForDeathDeclaration = 2;
        o.TableRefreshTimeout = TimeSpan.FromSeconds(5);
        o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(30);
        o.DeathVoteExpirationTimeout = TimeSpan.FromSeconds(30);
    }

    private static void AddEmbeddedProfile(this ISiloBuilder silo, PlatformOptions options)
    {
        // Loopback only: the embedded profile is one machine's cluster.
        silo.UseLocalhostClustering(options.Cluster.SiloPort, options.Cluster.GatewayPort ?? 0);
        silo.ConfigureListening(IPAddress.Loopback, options.Cluster);
        silo.AddPlatformSqliteStorage(options.DataDirectory);
        silo.AddPlatformMemoryStreams();

        // One DuckDB file per data directory (and so per process: DuckDB lets one process write a file).
        silo.Services.AddSingleton<Platform.RequestLog.IRequestLogStore>(_ => new RequestLog.DuckDbRequestLogStore(options.DataDirectory));
    }

    /// <summary>
    /// Memory streams whose cache lets delivered events go after seconds, not the default minutes: inference
    /// events are consumed once, and at thousands per second the default retention grows the heap steadily.
    /// </summary>
    public static ISiloBuilder AddPlatformMemoryStreams(this ISiloBuilder silo) =>
        silo.AddMemoryStreams(PlatformStorage.Streams, streams => streams.ConfigureCacheEviction(o => o.Configure(e =>
        {
            e.DataMinTimeInCache = TimeSpan.FromSeconds(2);
            e.DataMaxAgeInCache = TimeSpan.FromSeconds(10);
            e.MetadataMinTimeInCache = TimeSpan.FromSeconds(10);
        })));

    /// <summary>
    /// Grain state, pub-sub state and reminders in one SQLite file under <paramref name="dataDirectory"/>.
    /// Public so test clusters run on the same storage as the embedded profile.
    /// </summary>
    public static ISiloBuilder AddPlatformSqliteStorage(this ISiloBuilder silo, string dataDirectory)
    {
        silo.Services.TryAddSingleton(TimeProvider.System);
        silo.Services.AddSingleton<IGrainStorageSerializer>(sp => new OrleansGrainStorageSerializer(sp.GetRequiredService<Orleans.Serialization.Serializer>()));
        silo.Services.AddSingleton(new SqliteDatabase(dataDirectory));
        silo.Services.AddGrainStorage(PlatformStorage.Default, CreateSqliteStorage);
        silo.Services.AddGrainStorage(PlatformStorage.PubSub, CreateSqliteStorage);
        silo.Services.AddSingleton<IReminderTable, SqliteReminderTable>();
        silo.Services.AddSingleton<IStorageProbe, SqliteStorageProbe>();
        return silo;
    }

    private static SqliteGrainStorage CreateSqliteStorage(IServiceProvider services, string name) =>
        ActivatorUtilities.CreateInstance<SqliteGrainStorage>(services, name);

    private static void AddAzureProfile(this ISiloBuilder silo, PlatformOptions options)
    {
        var connectionString = options.Azure.ConnectionString!;
        var tables = new TableServiceClient(connectionString);

        silo.UseAzureStorageClustering(o => o.TableServiceClient = tables);
        var gatewayPort = options.Cluster.GatewayPort ?? 0;
        if (options.Cluster.AdvertisedAddress is { Length: > 0 } address)
        {
            silo.ConfigureEndpoints(IPAddress.Parse(address), options.Cluster.SiloPort, gatewayPort);
            silo.ConfigureListening(IPAddress.IsLoopback(IPAddress.Parse(address)) ? IPAddress.Loopback : IPAddress.Any, options.Cluster);
        }
        else
        {
            silo.ConfigureEndpoints(options.Cluster.SiloPort, gatewayPort);
            silo.ConfigureListening(IPAddress.Any, options.Cluster);
        }

        if (options.Azure.GrainStorage == "blob")
        {
            var blobs = new BlobServiceClient(connectionString);
            silo.AddAzureBlobGrainStorage(PlatformStorage.Default, o =>
            {
                o.BlobServiceClient = blobs;
                o.ContainerName = "platform-grain-state";
            });
        }
        else
        {
            silo.AddAzureTableGrainStorage(PlatformStorage.Default, o =>
            {
                o.TableServiceClient = tables;
                o.TableName = "PlatformGrainState";
            });
        }

        silo.AddAzureTableGrainStorage(PlatformStorage.PubSub, o =>
        {
            o.TableServiceClient = tables;
            o.TableName = "PlatformPubSub";
        });
        silo.UseAzureTableReminderService(o =>
        {
            o.TableServiceClient = tables;
            o.TableName = "PlatformReminders";
        });

        var queues = new QueueServiceClient(connectionString);
        var queueNames = Enumerable.Range(0, options.Azure.QueueCount).Select(i => $"{PlatformStorage.Streams}-{i}").ToList();
        silo.AddAzureQueueStreams(PlatformStorage.Streams, (OptionsBuilder<AzureQueueOptions> o) => o.Configure(q =>
        {
            q.QueueServiceClient = queues;
            q.QueueNames = queueNames;
        }));

        silo.Services.AddSingleton(tables);
        silo.Services.AddSingleton<IStorageProbe, AzureTableStorageProbe>();
        silo.Services.AddSingleton<Platform.RequestLog.IRequestLogStore>(_ => new RequestLog.AzureTableRequestLogStore(tables));
        if (options.UsesKubernetes)
        {
            silo.UseKubernetesHosting();
        }
    }
}
