using System.Threading.Channels;

namespace Workspaces.Daemon.Hypervisor;

/// <summary>One running guest, attached. Disposing detaches; it never stops the guest.</summary>
public interface IGuest : IAsyncDisposable
{
    int Pid { get; }

    /// <summary>What the guest or hypervisor did on its own; completes when the guest is gone.</summary>
    ChannelReader<GuestEvent> Events { get; }

    /// <summary>Completes once the guest process has exited, saying how.</summary>
    Task<GuestExit> Exited { get; }

    /// <summary>"running" or "paused" (or the hypervisor's own word for anything else).</summary>
    Task<string> QueryStateAsync(CancellationToken ct);

    Task RunAsync(CancellationToken ct);
    Task PauseAsync(CancellationToken ct);
    Task PowerdownAsync(CancellationToken ct);
    Task ResetAsync(CancellationToken ct);

    /// <summary>The memory the guest booted with (its ceiling while it runs), in bytes.</summary>
    Task<long> BootMemoryAsync(CancellationToken ct);

    /// <summary>Asks the guest to give memory back (or take it again) up to its boot size, through its balloon.</summary>
    Task SetMemoryAsync(long bytes, CancellationToken ct);

    /// <summary>Puts another medium (a file) into a removable drive, such as the seed's cdrom, while the guest runs.</summary>
    Task ChangeMediumAsync(string device, string path, CancellationToken ct);

    /// <summary>Ends the guest at once: ask the hypervisor to quit, then kill the process.</summary>
    Task KillAsync(CancellationToken ct);
}
