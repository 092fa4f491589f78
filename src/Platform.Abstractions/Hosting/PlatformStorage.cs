namespace Platform.Hosting;

/// <summary>
/// Names of the grain storage and stream providers, in one place. Every profile registers
/// providers under these names, so grains never know which backend they run on.
/// </summary>
public static class PlatformStorage
{
    /// <summary>Grain state of every platform grain.</summary>
    public const string Default = "platform";

    /// <summary>Pub-sub state of Orleans streams (the name Orleans looks up).</summary>
    public const string PubSub = "PubSubStore";

    /// <summary>The stream provider that carries inference events and notifications.</summary>
    public const string Streams = "platform-streams";
}
