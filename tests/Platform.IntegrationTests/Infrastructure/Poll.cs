namespace Platform.IntegrationTests.Infrastructure;

/// <summary>Waiting for an asynchronous outcome: poll it until it holds or a deadline passes, never a fixed sleep.</summary>
public static class Poll
{
    /// <summary>Calls <paramref name="check"/> until it returns true or <paramref name="timeout"/> passes; true if it held.</summary>
    public static async Task<bool> UntilAsync(Func<Task<bool>> check, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await check())
            {
                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }
    }
}
