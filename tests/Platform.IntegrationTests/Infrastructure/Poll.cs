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

    /// <summary>Reads <paramref name="read"/> until <paramref name="holds"/> is true of it or <paramref name="timeout"/> passes; returns the last value read.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> holds, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (holds(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(50);
        }
    }
}
