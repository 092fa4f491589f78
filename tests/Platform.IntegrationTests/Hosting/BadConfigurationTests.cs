using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Hosting;

/// <summary>Each bad setting stops the real process with a non-zero exit code and one line naming the setting.</summary>
public sealed class BadConfigurationTests
{
    public static TheoryData<string, string, string> Cases() => new()
    {
        { "Platform:Profile", "bogus", "Platform:Profile" },
        { "Platform:Profile", "azure", "Platform:Azure:ConnectionString" },
        { "Platform:Azure:ConnectionString", "AccountName=x;garbage", "Platform:Azure:ConnectionString" },
        { "Platform:DataDirectory", "/proc/platform-not-writable", "Platform:DataDirectory" },
        { "Platform:Cluster:SiloPort", "eleven", "Platform:Cluster:SiloPort" },
        { "Platform:Bootstrap:AdminKey", "too-short", "Platform:Bootstrap:AdminKey" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadSetting_ExitsNonZero_NamingTheSetting(string key, string value, string named)
    {
        var settings = new Dictionary<string, string> { [key] = value };
        if (key == "Platform:Azure:ConnectionString")
        {
            settings["Platform:Profile"] = "azure";
        }

        await using var silo = SiloProcess.Start(settings);
        await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, silo.ExitCode);
        Assert.Contains(named, silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("too-short", silo.Output, StringComparison.Ordinal);
    }
}
