using Orleans.Storage;

namespace Platform.Tests;

/// <summary>
/// The cluster's real grain storage, with writes of one state type failing on demand: before the write
/// (nothing stored) or after it (stored, but the caller is told it failed, as when an acknowledgement is lost).
/// </summary>
public sealed class FaultyGrainStorage(IGrainStorage inner) : IGrainStorage
{
    public enum Mode
    {
        FailBeforeWrite,
        FailAfterWrite,
    }

    private static volatile Fault? s_fault;

    /// <summary>Fails every write of <typeparamref name="TState"/> to grains whose key contains <paramref name="keyPart"/>, until disposed.</summary>
    public static IDisposable Arm<TState>(string keyPart, Mode mode)
    {
        var fault = new Fault(typeof(TState), keyPart, mode);
        s_fault = fault;
        return fault;
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var fault = s_fault;
        var hit = fault is not null && fault.StateType == typeof(T) && grainId.Key.ToString()!.Contains(fault.KeyPart, StringComparison.Ordinal);
        if (hit && fault!.Mode == Mode.FailBeforeWrite)
        {
            throw new IOException("Injected storage fault before the write.");
        }

        await inner.WriteStateAsync(stateName, grainId, grainState);
        if (hit)
        {
            throw new IOException("Injected storage fault after the write.");
        }
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);

    private sealed record Fault(Type StateType, string KeyPart, Mode Mode) : IDisposable
    {
        public void Dispose()
        {
            if (ReferenceEquals(s_fault, this))
            {
                s_fault = null;
            }
        }
    }
}
