namespace Platform.Tests.Evaluations;

/// <summary>How many activations of one grain class the test cluster holds, and polling until a count holds.</summary>
internal static class GrainActivations
{
    public static async Task<int> CountAsync(IGrainFactory grains, string grainClass)
    {
        var statistics = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        return statistics.Where(s => s.GrainType.StartsWith(grainClass + ",", StringComparison.Ordinal) || s.GrainType == grainClass)
            .Sum(s => s.ActivationCount);
    }

    /// <summary>Reads until the count is <paramref name="expected"/> or 20 seconds pass (no fixed sleep); returns the last count.</summary>
    public static async Task<int> PollAsync(IGrainFactory grains, string grainClass, int expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var count = await CountAsync(grains, grainClass);
            if (count == expected || DateTime.UtcNow > deadline)
            {
                return count;
            }

            await Task.Delay(50);
        }
    }
}
