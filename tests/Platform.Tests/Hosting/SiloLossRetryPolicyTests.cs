using Orleans.Runtime.Messaging;
using Orleans.Storage;
using Platform.Deployments;
using Platform.Prompts;
using Platform.Silo.Hosting;
using Platform.Tenants;

namespace Platform.Tests.Hosting;

public sealed class SiloLossRetryPolicyTests
{
    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    /// <summary>Not a platform contract: a [ReadOnly] method elsewhere (an Orleans system interface, say) is left alone.</summary>
    public interface IForeignGrain : IGrainWithStringKey
    {
        [Orleans.Concurrency.ReadOnly]
        Task<int> GetAsync();
    }

    private readonly ManualTime _time = new();
    private int _delays;

    private SiloLossRetryPolicy NewPolicy() => new(_time, TimeSpan.FromSeconds(5), (span, _) =>
    {
        _delays++;
        _time.Advance(span);
        return Task.CompletedTask;
    });

    [Theory]
    [InlineData(typeof(IApiKeyGrain), nameof(IApiKeyGrain.GetAsync))]
    [InlineData(typeof(ITenantGrain), nameof(ITenantGrain.GetAsync))]
    [InlineData(typeof(IPromptGrain), nameof(IPromptGrain.ResolveAsync))]
    [InlineData(typeof(ITenantDirectoryGrain), nameof(ITenantDirectoryGrain.AddAsync))]
    [InlineData(typeof(IAuditLogGrain), nameof(IAuditLogGrain.QueryAsync))]
    [InlineData(typeof(IMonitorGrain), nameof(IMonitorGrain.GetReportAsync))]
    public void IsRetryable_ReadsAndIdempotentWrites_AreRetried(Type grain, string method) =>
        Assert.True(NewPolicy().IsRetryable(grain.GetMethod(method)));

    [Theory]
    [InlineData(typeof(ITenantGrain), nameof(ITenantGrain.CreateKeyAsync))]
    [InlineData(typeof(IPromptGrain), nameof(IPromptGrain.CreateVersionAsync))]
    [InlineData(typeof(IAuditLogGrain), nameof(IAuditLogGrain.AppendAsync))]
    [InlineData(typeof(IDeploymentGrain), nameof(IDeploymentGrain.RollbackAsync))]
    [InlineData(typeof(IForeignGrain), nameof(IForeignGrain.GetAsync))]
    public void IsRetryable_WritesThatAreNotIdempotent_AndForeignInterfaces_AreNot(Type grain, string method) =>
        Assert.False(NewPolicy().IsRetryable(grain.GetMethod(method)));

    [Fact]
    public void IsSiloLoss_UnreachableOrDeadSilo_IsRecognisedAlsoWhenWrapped()
    {
        Assert.True(SiloLossRetryPolicy.IsSiloLoss(new SiloUnavailableException("The target silo became unavailable")));
        Assert.True(SiloLossRetryPolicy.IsSiloLoss(new ConnectionFailedException("Connection refused")));
        Assert.True(SiloLossRetryPolicy.IsSiloLoss(new OrleansException("Forwarding failed", new ConnectionFailedException("reset"))));
        Assert.True(SiloLossRetryPolicy.IsSiloLoss(new AggregateException(new InvalidOperationException(), new SiloUnavailableException())));
    }

    [Fact]
    public void IsSiloLoss_RefusalsConflictsAndTimeouts_AreNot()
    {
        Assert.False(SiloLossRetryPolicy.IsSiloLoss(null));
        Assert.False(SiloLossRetryPolicy.IsSiloLoss(new PlatformException(ErrorKind.Invalid, "bad")));
        Assert.False(SiloLossRetryPolicy.IsSiloLoss(new InconsistentStateException("etag mismatch")));
        Assert.False(SiloLossRetryPolicy.IsSiloLoss(new TimeoutException("no answer in 30 s")));
        Assert.False(SiloLossRetryPolicy.IsSiloLoss(new OrleansException("something else")));
    }

    [Fact]
    public async Task Wait_EndsAsSoonAsMembershipMovesPastTheCallsVersion()
    {
        var version = 7L;
        var policy = new SiloLossRetryPolicy(_time, TimeSpan.FromSeconds(5), (span, _) =>
        {
            _time.Advance(span);
            if (++_delays == 3)
            {
                version = 8;
            }

            return Task.CompletedTask;
        });

        Assert.True(await policy.WaitForMembershipChangeAsync(() => version, versionAtCall: 7));
        Assert.Equal(3, _delays);
    }

    [Fact]
    public async Task Wait_WhenMembershipAlreadyMovedDuringTheCall_DoesNotWait()
    {
        Assert.True(await NewPolicy().WaitForMembershipChangeAsync(() => 9, versionAtCall: 8));
        Assert.Equal(0, _delays);
    }

    [Fact]
    public async Task Wait_WhenMembershipNeverChanges_GivesUpAfterMaxWait()
    {
        var policy = NewPolicy();

        Assert.False(await policy.WaitForMembershipChangeAsync(() => 4, versionAtCall: 4));
        Assert.Equal((int)(policy.MaxWait / SiloLossRetryPolicy.PollInterval), _delays);
    }
}
