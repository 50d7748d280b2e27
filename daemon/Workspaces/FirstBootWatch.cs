using Workspaces.Daemon.Images;
using Workspaces.Daemon.Guests;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// After a start whose seed still carries one-time files (the identity's private key, secrets):
/// asks the guest's agent until cloud-init reports its boot finished (by then write_files has put
/// the files in place), then rewrites the seed without them, swaps the cdrom's medium to it, and
/// records the delivery. The guest does not keep the cdrom mounted once cloud-init has read it;
/// if it does (a locked tray), the rewritten file still applies from the next boot, and the old
/// one is gone from the state dir either way (QEMU only holds its open descriptor).
/// </summary>
public sealed class FirstBootWatch(
    WorkspaceGuests guests,
    WorkspaceRepository workspaces,
    ImageService images,
    GuestSupervisor supervisor,
    WorkspaceLocks locks,
    WorkspaceLayout layout,
    GuestAgents agents,
    ILogger<FirstBootWatch> logger)
{
    /// <summary>How long a guest has to confirm its first boot (a Debian guest under TCG: a minute or two).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>Starts watching in the background (never throws; the start does not wait for it).</summary>
    public void Begin(WorkspaceRow row, SeedAddress? address)
    {
        if (guests.Delivered(row.Id)) return;
        _ = Task.Run(() => WatchAsync(row.Id, row.Name, address));
    }

    private async Task WatchAsync(string id, string name, SeedAddress? address)
    {
        try
        {
            var deadline = DateTime.UtcNow + Patience;
            while (DateTime.UtcNow < deadline)
            {
                await Task.Delay(Interval);
                if (!supervisor.TryGet(id, out var guest)) return; // stopped or deleted meanwhile: the next start watches again
                CloudInitResult? result;
                try
                {
                    result = await CloudInitProbe.ResultAsync(Agent(id), TimeSpan.FromSeconds(5), CancellationToken.None);
                }
                catch (GuestAgentUnavailableException)
                {
                    continue; // no agent yet
                }
                if (result is null) continue; // cloud-init still running
                await DeliveredAsync(id, name, address);
                return;
            }
            SeedLog.NotConfirmed(logger, name, (int)Patience.TotalMinutes);
        }
        catch (Exception e)
        {
            SeedLog.WatchFailed(logger, e, name);
        }
    }

    private async Task DeliveredAsync(string id, string name, SeedAddress? address)
    {
        using var _ = await locks.TakeAsync(id, CancellationToken.None);
        if (workspaces.FindById(id) is not { } row || !supervisor.TryGet(id, out var guest)) return;
        string seed = await guests.WriteDeliveredSeedAsync(row, images.Get(row.ImageId), address, CancellationToken.None);
        GuestFiles.GiveFile(row.GuestUid, seed);
        try
        {
            await guest.ChangeMediumAsync(QemuCommandLine.SeedDevice, seed, CancellationToken.None);
        }
        catch (Exception e) when (e is QmpException or Hypervisor.HypervisorException)
        {
            SeedLog.MediumKept(logger, name, e.Message);
        }
        SeedLog.Delivered(logger, name);
    }

    /// <summary>The workspace's guest agent (one connection per guest, shared with ws exec and friends).</summary>
    public GuestAgent Agent(string id) => agents.For(layout.AgentSocket(id));
}
