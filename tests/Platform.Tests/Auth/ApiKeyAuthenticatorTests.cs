using System.Reflection;
using Platform.Silo.Auth;
using Platform.Tenants;

namespace Platform.Tests.Auth;

/// <summary>The authenticator alone, over a grain factory that records every call (a unit test of one class).</summary>
public sealed class ApiKeyAuthenticatorTests
{
    [Theory]
    [InlineData("sk-plt-short")]
    [InlineData("sk-plt-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")]
    [InlineData("too-short-for-a-configured-key")]
    [InlineData("a key with spaces in it, long enough to be a configured one")]
    public async Task MalformedKey_IsRefused_WithoutAnyGrainCall(string secret)
    {
        var grains = RecordingGrainFactory.Create();
        var authenticator = new ApiKeyAuthenticator(grains, TimeProvider.System);

        Assert.Null(await authenticator.AuthenticateAsync(secret));
        Assert.Empty(((RecordingGrainFactory)(object)grains).Calls);
    }

    [Fact]
    public async Task WellFormedKey_IsLookedUpInItsDirectoryShard_NotInAGrainOfItsOwn()
    {
        var grains = RecordingGrainFactory.Create();
        var authenticator = new ApiKeyAuthenticator(grains, TimeProvider.System);
        var secret = ApiKeySecret.Generate();

        // The recording factory hands out no grains, so the lookup itself fails; what matters is which grain it asked for.
        await Assert.ThrowsAnyAsync<Exception>(async () => await authenticator.AuthenticateAsync(secret));

        var call = Assert.Single(((RecordingGrainFactory)(object)grains).Calls);
        Assert.Equal((typeof(IApiKeyDirectoryGrain), ApiKeySecret.ShardOf(ApiKeySecret.Hash(secret))), call);
    }

    public class RecordingGrainFactory : DispatchProxy
    {
        public List<(Type Interface, string Key)> Calls { get; } = [];

        public static IGrainFactory Create() => DispatchProxy.Create<IGrainFactory, RecordingGrainFactory>();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            lock (Calls)
            {
                Calls.Add((targetMethod!.IsGenericMethod ? targetMethod.GetGenericArguments()[0] : typeof(void), args?.FirstOrDefault()?.ToString() ?? ""));
            }

            throw new InvalidOperationException("No grain calls in this test.");
        }
    }
}
