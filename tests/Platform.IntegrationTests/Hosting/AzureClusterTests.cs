using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Hosting;

/// <summary>The azure profile against Azurite: two silo processes on loopback forming one cluster through Azure Table membership.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureClusterTests(AzuriteFixture azurite)
{
    private static string NewClusterId() => "c" + Guid.NewGuid().ToString("N")[..10];

    private async Task<(SiloProcess A, SiloProcess B)> StartPairAsync(string clusterId, string grainStorage = "table")
    {
        var a = SiloProcess.Start(azurite.SiloSettings(clusterId, grainStorage));
        var b = SiloProcess.Start(azurite.SiloSettings(clusterId, grainStorage));
        await Task.WhenAll(a.WaitReadyAsync(TimeSpan.FromSeconds(90)), b.WaitReadyAsync(TimeSpan.FromSeconds(90)));
        return (a, b);
    }

    [Fact]
    public async Task KillingOneSilo_ReadsThroughTheOtherKeepAnswering200_AndEveryGrainsStateStaysReadable()
    {
        var (a, b) = await StartPairAsync(NewClusterId());
        await using var _ = a;
        await using var __ = b;

        // Enough tenants and keys that both silos host some of their grains.
        var tenants = Enumerable.Range(0, 12).Select(i => $"kill-{i}").ToList();
        var keys = new Dictionary<string, string>();
        foreach (var id in tenants)
        {
            using var created = await a.Http.SendAsync(SiloProcess.Request(
                HttpMethod.Post, "/api/v1/tenants", TestEnvironment.AdminKey, JsonContent.Create(new { id, displayName = "Name of " + id })));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            using var key = await a.Http.SendAsync(SiloProcess.Request(
                HttpMethod.Post, $"/api/v1/tenants/{id}/keys", TestEnvironment.AdminKey, JsonContent.Create(new { name = "c", role = "client" })));
            using var keyJson = JsonDocument.Parse(await key.Content.ReadAsStringAsync());
            keys[id] = keyJson.RootElement.GetProperty("secret").GetString()!;
        }

        // Reads through the survivor, polled continuously from just before the kill until 3 s after it: API-key
        // authentication (each key's cached lookup goes stale within a second, so the key grain is asked again)
        // and tenant reads. Every one must answer 200; a 503 is a read that failed while the cluster learned of the death.
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var reads = 0;
        var killedAt = new TaskCompletionSource<Stopwatch>(TaskCreationOptions.RunContinuationsAsynchronously);
        var warm = 0;
        var allWarm = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task PollAsync(string id)
        {
            var first = true;
            while (!killedAt.Task.IsCompleted || killedAt.Task.Result.Elapsed < TimeSpan.FromSeconds(3))
            {
                foreach (var (path, key) in new[] { ("/v1/models", keys[id]), ($"/api/v1/tenants/{id}", TestEnvironment.AdminKey) })
                {
                    using var response = await b.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, path, key));
                    Interlocked.Increment(ref reads);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Enqueue($"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                    else if (path.StartsWith("/api", StringComparison.Ordinal))
                    {
                        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                        Assert.Equal("Name of " + id, json.RootElement.GetProperty("displayName").GetString());
                    }
                }

                if (first && Interlocked.Increment(ref warm) == tenants.Count)
                {
                    allWarm.SetResult();
                }

                first = false;
            }
        }

        var pollers = tenants.Select(PollAsync).ToList();
        await allWarm.Task.WaitAsync(TimeSpan.FromSeconds(30));
        a.KillHard();
        killedAt.SetResult(Stopwatch.StartNew());
        await Task.WhenAll(pollers);

        Assert.True(failures.IsEmpty, $"{failures.Count} of {reads} reads through the surviving silo failed after the kill:\n"
            + string.Join("\n", failures.Take(10)) + "\n" + b.Output);
    }

    [Fact]
    public async Task TlsSilos_FormOneCluster_AndTheirSiloPortSpeaksOnlyMutualTls()
    {
        var certificates = TestCertificates.Write(TestEnvironment.NewTempDirectory("platform-tls"));
        var clusterId = NewClusterId();
        var settingsA = azurite.SiloSettings(clusterId);
        settingsA["Platform:Cluster:Tls:CertificatePath"] = certificates.Pfx;
        settingsA["Platform:Cluster:Tls:CertificatePassword"] = certificates.PfxPassword;
        var settingsB = azurite.SiloSettings(clusterId);
        settingsB["Platform:Cluster:Tls:CertificatePath"] = certificates.CertificatePem;
        settingsB["Platform:Cluster:Tls:PrivateKeyPath"] = certificates.KeyPem;
        await using var a = SiloProcess.Start(settingsA);
        await using var b = SiloProcess.Start(settingsB);
        await Task.WhenAll(a.WaitReadyAsync(TimeSpan.FromSeconds(90)), b.WaitReadyAsync(TimeSpan.FromSeconds(90)));

        // One cluster: grains written through A and read through B live on both silos (and so does the grain
        // directory), so every read below crosses the TLS connection between them.
        var tenants = Enumerable.Range(0, 8).Select(i => $"tls-{i}").ToList();
        foreach (var id in tenants)
        {
            using var created = await a.Http.SendAsync(SiloProcess.Request(
                HttpMethod.Post, "/api/v1/tenants", TestEnvironment.AdminKey, JsonContent.Create(new { id, displayName = id })));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        foreach (var id in tenants)
        {
            using var read = await b.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, $"/api/v1/tenants/{id}", TestEnvironment.AdminKey));
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }

        var siloPort = int.Parse(settingsA["Platform:Cluster:SiloPort"], System.Globalization.CultureInfo.InvariantCulture);

        // A plain TCP peer gets nothing back: its bytes are not a TLS handshake, and the connection is closed.
        using (var plain = new System.Net.Sockets.TcpClient())
        {
            await plain.ConnectAsync(IPAddress.Loopback, siloPort);
            var stream = plain.GetStream();
            await stream.WriteAsync("orleans? plain bytes, no TLS\r\n\r\n"u8.ToArray());
            Assert.Equal(0, await ReadAnyAsync(stream));
        }

        // A TLS peer sees the configured certificate, but without presenting it in turn it is refused before any Orleans data.
        using (var tls = new System.Net.Sockets.TcpClient())
        {
            await tls.ConnectAsync(IPAddress.Loopback, siloPort);
            byte[]? presented = null;
            using var ssl = new System.Net.Security.SslStream(tls.GetStream(), leaveInnerStreamOpen: false, (_, certificate, _, _) =>
            {
                // Trust by pinning, as the silos do: the point is which certificate the port presents.
                presented = certificate?.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
                return presented is not null && presented.AsSpan().SequenceEqual(certificates.Sha256);
            });
            try
            {
                await ssl.AuthenticateAsClientAsync("platform-silo");
                Assert.Equal(0, await ReadAnyAsync(ssl));
            }
            catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
            {
                // TLS 1.2 refuses the missing client certificate inside the handshake.
            }

            Assert.Equal(certificates.Sha256, presented);
        }
    }

    /// <summary>Bytes the peer sends before it closes the connection (or within 5 s); 0 when it sends nothing.</summary>
    private static async Task<int> ReadAnyAsync(Stream stream)
    {
        var buffer = new byte[1024];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            return await stream.ReadAsync(buffer, deadline.Token);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            return 0;
        }
    }

    [Fact]
    public async Task RevokingAKeyOnOneSilo_IsHonouredByTheOther()
    {
        var (a, b) = await StartPairAsync(NewClusterId());
        await using var _ = a;
        await using var __ = b;

        using var tenant = await a.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, "/api/v1/tenants", TestEnvironment.AdminKey, JsonContent.Create(new { id = "revoke", displayName = "Revoke" })));
        using var key = await a.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, "/api/v1/tenants/revoke/keys", TestEnvironment.AdminKey, JsonContent.Create(new { name = "k", role = "client" })));
        using var keyJson = JsonDocument.Parse(await key.Content.ReadAsStringAsync());
        var secret = keyJson.RootElement.GetProperty("secret").GetString()!;
        var keyId = keyJson.RootElement.GetProperty("key").GetProperty("id").GetString()!;

        // Silo B has the key in its cache now.
        for (var i = 0; i < 3; i++)
        {
            using var ok = await b.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/v1/models", secret));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var revoke = await a.Http.SendAsync(SiloProcess.Request(HttpMethod.Delete, $"/api/v1/tenants/revoke/keys/{keyId}", TestEnvironment.AdminKey));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

        Assert.True(await Poll.UntilAsync(async () =>
        {
            using var refused = await b.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/v1/models", secret));
            return refused.StatusCode == HttpStatusCode.Unauthorized;
        }, TimeSpan.FromSeconds(5)), "silo B still accepts the revoked key");
    }

    [Fact]
    public async Task ModelRouteAddedThroughOneSilo_IsServedByTheOther()
    {
        var (a, b) = await StartPairAsync(NewClusterId());
        await using var _ = a;
        await using var __ = b;
        using var tenant = await a.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, "/api/v1/tenants", TestEnvironment.AdminKey, JsonContent.Create(new { id = "models", displayName = "Models" })));
        using var key = await a.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, "/api/v1/tenants/models/keys", TestEnvironment.AdminKey, JsonContent.Create(new { name = "c", role = "client" })));
        using var keyJson = JsonDocument.Parse(await key.Content.ReadAsStringAsync());
        var secret = keyJson.RootElement.GetProperty("secret").GetString()!;
        var chat = new { model = "cluster-route", messages = new[] { new { role = "user", content = "hi" } } };
        using var before = await b.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", secret, JsonContent.Create(chat)));
        Assert.Equal(HttpStatusCode.NotFound, before.StatusCode);

        using var put = await a.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Put, "/api/v1/models/cluster-route", TestEnvironment.AdminKey, JsonContent.Create(new { provider = "simulated" })));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        Assert.True(await Poll.UntilAsync(async () =>
        {
            using var after = await b.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", secret, JsonContent.Create(chat)));
            return after.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(5)), "silo B does not serve the new route");
    }

    [Fact]
    public async Task PromptRollbackThroughOneSilo_IsServedByTheOtherOnTheNextRequest()
    {
        var (a, b) = await StartPairAsync(NewClusterId());
        await using var _ = a;
        await using var __ = b;
        await a.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, "/api/v1/tenants", TestEnvironment.AdminKey, JsonContent.Create(new { id = "prompts", displayName = "Prompts" })));
        async Task<string> KeyAsync(string role)
        {
            using var key = await a.Http.SendAsync(SiloProcess.Request(
                HttpMethod.Post, "/api/v1/tenants/prompts/keys", TestEnvironment.AdminKey, JsonContent.Create(new { name = role, role })));
            using var json = JsonDocument.Parse(await key.Content.ReadAsStringAsync());
            return json.RootElement.GetProperty("secret").GetString()!;
        }

        var owner = await KeyAsync("owner");
        var client = await KeyAsync("client");
        foreach (var text in new[] { "v1", "v2" })
        {
            using var created = await a.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/api/v1/prompts/p/versions", owner,
                JsonContent.Create(new { messages = new[] { new { role = "system", template = text } }, parameters = new { model = "sim-small" } })));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        foreach (var version in new[] { 1, 2 })
        {
            using var moved = await a.Http.SendAsync(SiloProcess.Request(HttpMethod.Put, "/api/v1/prompts/p/labels/production", owner, JsonContent.Create(new { version })));
            Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        }

        var chat = new { prompt = new { name = "p", label = "production" } };
        using (var before = await b.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", client, JsonContent.Create(chat))))
        {
            Assert.Equal("p@2", before.Headers.GetValues("x-platform-prompt").Single());
        }

        using var rollback = await a.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/api/v1/prompts/p/labels/production/rollback", owner));
        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);

        using var after = await b.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", client, JsonContent.Create(chat)));
        Assert.Equal("p@1", after.Headers.GetValues("x-platform-prompt").Single());
    }

    [Fact]
    public async Task DeploymentArms_AreStickyAcrossSilos_AndARollbackOnOneIsHonouredByTheOther()
    {
        var (a, b) = await StartPairAsync(NewClusterId());
        await using var _ = a;
        await using var __ = b;
        await a.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, "/api/v1/tenants", TestEnvironment.AdminKey, JsonContent.Create(new { id = "deploys", displayName = "Deploys" })));
        using var key = await a.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, "/api/v1/tenants/deploys/keys", TestEnvironment.AdminKey, JsonContent.Create(new { name = "o", role = "owner" })));
        using var keyJson = JsonDocument.Parse(await key.Content.ReadAsStringAsync());
        var owner = keyJson.RootElement.GetProperty("secret").GetString()!;
        using var created = await a.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/api/v1/deployments", owner,
            JsonContent.Create(new { name = "bot", stable = new { modelRoute = "sim-small" }, policy = new { minSamplesPerArm = 100000 } })));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var canary = await a.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/api/v1/deployments/bot/canary", owner,
            JsonContent.Create(new { release = new { modelRoute = "sim-large" }, weight = 50 })));
        Assert.Equal(HttpStatusCode.OK, canary.StatusCode);

        // Both silos serve the canary (each caches a deployment for at most a second).
        async Task<string> ArmAsync(SiloProcess silo, object body)
        {
            using var response = await silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", owner, JsonContent.Create(body)));
            return response.Headers.TryGetValues("x-platform-arm", out var arm) ? arm.Single() : "";
        }

        foreach (var silo in new[] { a, b })
        {
            Assert.True(await Poll.UntilAsync(async () =>
            {
                for (var u = 0; u < 12; u++)
                {
                    if (await ArmAsync(silo, new { model = "bot", user = $"user-{u}", messages = new[] { new { role = "user", content = "hi" } } }) == "canary")
                    {
                        return true;
                    }
                }

                return false;
            }, TimeSpan.FromSeconds(5)), "a silo never serves the canary");
        }

        // Sticky across silos: each user gets the same arm whichever silo the request enters.
        var armsSeen = new HashSet<string>();
        for (var u = 0; u < 12; u++)
        {
            var byUser = new { model = "bot", user = $"user-{u}", messages = new[] { new { role = "user", content = "hi" } } };
            using var viaA = await a.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", owner, JsonContent.Create(byUser)));
            using var viaB = await b.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", owner, JsonContent.Create(byUser)));
            Assert.Equal(viaA.Headers.GetValues("x-platform-arm").Single(), viaB.Headers.GetValues("x-platform-arm").Single());
            armsSeen.Add(viaA.Headers.GetValues("x-platform-arm").Single());
        }

        Assert.Equal(2, armsSeen.Count);
        using var full = await a.Http.SendAsync(SiloProcess.Request(HttpMethod.Put, "/api/v1/deployments/bot/canary/weight", owner, JsonContent.Create(new { weight = 100 })));
        Assert.Equal(HttpStatusCode.OK, full.StatusCode);

        var chat = new { model = "bot", messages = new[] { new { role = "user", content = "hi" } } };
        Assert.True(await Poll.UntilAsync(async () => await ArmAsync(b, chat) == "canary", TimeSpan.FromSeconds(5)), "silo B never sends everything to the canary");

        using var rollback = await a.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/api/v1/deployments/bot/canary/rollback", owner, JsonContent.Create(new { reason = "test" })));
        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        Assert.True(await Poll.UntilAsync(async () => await ArmAsync(b, chat) == "stable", TimeSpan.FromSeconds(5)), "silo B never honours the rollback");

        using var after = await b.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", owner, JsonContent.Create(chat)));
        Assert.Equal("stable", after.Headers.GetValues("x-platform-arm").Single());
        Assert.Equal("sim-small", after.Headers.GetValues("x-platform-route").Single());
    }

    [Fact]
    public async Task BlobGrainStorage_StateSurvivesAFullClusterRestart()
    {
        var clusterId = NewClusterId();
        await using (var first = SiloProcess.Start(azurite.SiloSettings(clusterId, "blob")))
        {
            await first.WaitReadyAsync(TimeSpan.FromSeconds(90));
            using var created = await first.Http.SendAsync(SiloProcess.Request(
                HttpMethod.Post, "/api/v1/tenants", TestEnvironment.AdminKey, JsonContent.Create(new { id = "blobby", displayName = "Blob state" })));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(0, await first.TerminateAsync(TimeSpan.FromSeconds(30)));
        }

        await using var second = SiloProcess.Start(azurite.SiloSettings(clusterId, "blob"));
        await second.WaitReadyAsync(TimeSpan.FromSeconds(90));
        using var read = await second.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/api/v1/tenants/blobby", TestEnvironment.AdminKey));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Contains("Blob state", await read.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("Admin API key", second.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SiloKilledUnderPromptWrites_EveryAcknowledgedVersionIsSaved_RetriesCreateNoDuplicate_AndEachVersionHasExactlyOneAuditEntry()
    {
        var clusterId = NewClusterId();
        var silos = new[] { azurite.SiloSettings(clusterId), azurite.SiloSettings(clusterId), azurite.SiloSettings(clusterId) }.Select(s => SiloProcess.Start(s)).ToList();
        await using var _ = silos[0];
        await using var __ = silos[1];
        await using var ___ = silos[2];
        await Task.WhenAll(silos.Select(s => s.WaitReadyAsync(TimeSpan.FromSeconds(90))));
        var (victim, survivors) = (silos[0], silos.Skip(1).ToList());

        // One tenant per writer, so some tenants' audit logs (and some prompt grains) are on the silo that dies.
        const int writers = 24;
        var owners = new string[writers];
        for (var w = 0; w < writers; w++)
        {
            using var tenant = await survivors[0].Http.SendAsync(SiloProcess.Request(
                HttpMethod.Post, "/api/v1/tenants", TestEnvironment.AdminKey, JsonContent.Create(new { id = $"audited-{w}", displayName = "Audited" })));
            Assert.Equal(HttpStatusCode.Created, tenant.StatusCode);
            using var key = await survivors[0].Http.SendAsync(SiloProcess.Request(
                HttpMethod.Post, $"/api/v1/tenants/audited-{w}/keys", TestEnvironment.AdminKey, JsonContent.Create(new { name = "o", role = "owner" })));
            using var keyJson = JsonDocument.Parse(await key.Content.ReadAsStringAsync());
            owners[w] = keyJson.RootElement.GetProperty("secret").GetString()!;
        }

        // Writers through the two survivors; every write is retried with its Idempotency-Key until acknowledged.
        var acknowledged = new int[writers];
        var total = 0;
        using var stop = new CancellationTokenSource();
        async Task WriteAsync(int w)
        {
            var http = survivors[w % survivors.Count].Http;
            for (var n = 1; !stop.IsCancellationRequested; n++)
            {
                var body = new { messages = new[] { new { role = "system", template = $"writer {w} version {n}" } }, message = $"v{n}" };
                var deadline = DateTime.UtcNow.AddSeconds(30);
                var last = "";
                while (true)
                {
                    using var request = SiloProcess.Request(HttpMethod.Post, "/api/v1/prompts/p/versions", owners[w], JsonContent.Create(body));
                    request.Headers.Add("Idempotency-Key", $"w{w}-v{n}");
                    try
                    {
                        using var response = await http.SendAsync(request);
                        if (response.IsSuccessStatusCode)
                        {
                            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                            Assert.Equal(n, json.RootElement.GetProperty("version").GetInt32());
                            acknowledged[w] = n;
                            Interlocked.Increment(ref total);
                            break;
                        }

                        last = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
                        Assert.True((int)response.StatusCode is 503 or 409, last);
                    }
                    catch (HttpRequestException ex)
                    {
                        last = ex.Message;
                    }

                    Assert.True(DateTime.UtcNow < deadline, $"writer {w} version {n} not acknowledged within 30 s; last answer {last}");
                }
            }
        }

        var load = Enumerable.Range(0, writers).Select(WriteAsync).ToList();
        var clock = Stopwatch.StartNew();
        while (Volatile.Read(ref total) < 80 && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(20);
        }

        victim.KillHard();
        var afterKill = Volatile.Read(ref total);
        while (Volatile.Read(ref total) < afterKill + 80 && clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            await Task.Delay(20);
        }

        await stop.CancelAsync();
        await Task.WhenAll(load);

        // Every saved version (read back, which also wakes any prompt grain with undelivered records) has exactly one entry.
        var saved = new Dictionary<string, int>();
        for (var w = 0; w < writers; w++)
        {
            using var read = await survivors[0].Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/api/v1/prompts/p", owners[w]));
            using var json = JsonDocument.Parse(await read.Content.ReadAsStringAsync());
            var versions = json.RootElement.GetProperty("versions").GetArrayLength();
            Assert.Equal(acknowledged[w], versions);
            for (var n = 1; n <= versions; n++)
            {
                saved[$"audited-{w}/prompt/p@{n}"] = 0;
            }
        }

        var audit = new Dictionary<string, int>();
        var auditDeadline = DateTime.UtcNow.AddSeconds(60);
        do
        {
            audit.Clear();
            for (var w = 0; w < writers; w++)
            {
                long? after = null;
                do
                {
                    using var page = await survivors[0].Http.SendAsync(SiloProcess.Request(
                        HttpMethod.Get, $"/api/v1/tenants/audited-{w}/audit?limit=500{(after is null ? "" : $"&after={after}")}", TestEnvironment.AdminKey));
                    using var json = JsonDocument.Parse(await page.Content.ReadAsStringAsync());
                    foreach (var entry in json.RootElement.GetProperty("entries").EnumerateArray()
                        .Where(e => e.GetProperty("action").GetString() == "prompt.version.create"))
                    {
                        var target = $"audited-{w}/{entry.GetProperty("target").GetString()}";
                        audit[target] = audit.GetValueOrDefault(target) + 1;
                    }

                    after = json.RootElement.TryGetProperty("nextAfter", out var next) ? next.GetInt64() : null;
                }
                while (after is not null);
            }

            if (saved.Keys.All(audit.ContainsKey))
            {
                break;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < auditDeadline);

        var missing = saved.Keys.Where(k => !audit.ContainsKey(k)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {saved.Count} saved versions have no audit entry: {string.Join(", ", missing.Take(20))}");
        Assert.All(audit, a => Assert.Equal(1, a.Value));
        Assert.Equal(saved.Count, audit.Count);
    }
}
