using Workspaces.Daemon.Core;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Resources;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Guests;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// The Manager's actions on a defined workspace: start, pause, resume, stop, reboot. Each runs under
/// the workspace's lock, re-checks the state machine against the row as it is now, touches the host,
/// and only then records the new state.
/// </summary>
public sealed class WorkspaceTransitions(
    WorkspaceAccess access,
    WorkspaceLocks locks,
    WorkspaceRepository workspaces,
    WorkspaceRecorder recorder,
    WorkspaceFactory factory,
    GuestSupervisor guests,
    GuestSpecs specs,
    WorkspaceLayout layout,
    ImageService images,
    NetworkService network,
    IHypervisor hypervisor,
    KvmProbe kvm,
    Admission admission,
    IResourceController resources,
    WorkspaceGuests guestSeeds,
    FirstBootWatch firstBoot,
    IOptions<WorkspacesOptions> options,
    ILogger<WorkspaceTransitions> logger)
{
    public async Task<WorkspaceRow> ActAsync(string name, WorkspaceAction action, Caller caller, ActionOptions how, CancellationToken ct)
    {
        var row = access.Get(name, caller);
        using var _ = await locks.TakeAsync(row.Id, ct);
        row = access.Get(name, caller);
        WorkspaceStateMachine.Check(name, row.State, action);
        switch (action)
        {
            case WorkspaceAction.Start:
                await factory.FinishCheckinAsync(row.Id); // never boot a disk that is still an image's blob
                await StartAsync(row, how.AcceptOffer, ct);
                break;
            case WorkspaceAction.Pause:
                await guests.Guest(row).PauseAsync(ct);
                recorder.SetState(row, WorkspaceStates.Paused, "paused", row.Pid, row.Accelerator);
                break;
            case WorkspaceAction.Resume:
                await guests.Guest(row).RunAsync(ct);
                recorder.SetState(row, WorkspaceStates.Running, "resumed", row.Pid, row.Accelerator);
                break;
            case WorkspaceAction.Reboot:
                await guests.Guest(row).ResetAsync(ct);
                recorder.SetState(row, WorkspaceStates.Running, "rebooted (system reset)", row.Pid, row.Accelerator);
                break;
            case WorkspaceAction.Stop: await StopAsync(row, how, ct); break;
            default: throw WorkspacesException.BadRequest($"'{WorkspaceStateMachine.Name(action)}' is not an action of this endpoint");
        }
        return row;
    }

    /// <summary>Answers a start that would not fit with its counter-offer now, before an operation is made.</summary>
    public void CheckAdmission(WorkspaceRow row, bool acceptOffer)
    {
        admission.CheckStart(row.Id, new WorkspaceShape(row.Vcpus, row.MemoryMib), acceptOffer);
        network.CheckRoom(row.Id); // a full network says so now, not in a failed operation
    }

    private async Task StartAsync(WorkspaceRow row, bool acceptOffer, CancellationToken ct)
    {
        var trace = new StartTrace(logger, row.Name);
        var (shape, lease) = await admission.AdmitStartAsync(row.Id, new WorkspaceShape(row.Vcpus, row.MemoryMib), acceptOffer, ct);
        using var _ = lease; // held until the start is recorded, so concurrent starts see each other
        if (shape.Vcpus != row.Vcpus || shape.MemoryMiB != row.MemoryMib)
        {
            (row.Vcpus, row.MemoryMib, row.UpdatedAt) = (shape.Vcpus, shape.MemoryMiB, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            workspaces.SetResources(row); // the accepted counter-offer becomes the spec
        }
        trace.Step("admission");
        var image = images.Get(row.ImageId);
        await images.AdmitAsync(image, ct); // the image may have been damaged, or the policy changed, since create
        trace.Step("image check");
        var accelerator = (await kvm.Choice).Accelerator;
        var spec = specs.For(row, image, accelerator);
        var chain = images.DiskChain(image);
        if (chain.Sealed)
            spec = spec with
            {
                SealedDisk = chain.On(new DiskLayer(layout.Overlay(row.Id), "qcow2", Encrypted: true)),
                DiskSecret = DiskKeys.Passphrase(images.Keys.Unseal(image)),
            };
        trace.Step("spec");
        GuestFiles.GiveTo(row.GuestUid, layout.Dir(row.Id), image.Disk is null ? null : layout.Overlay(row.Id));
        await using var revert = new Reverter(logger);
        // Undone last (after QEMU is gone): whatever part of its cgroups an attach made, even one that failed half-way.
        revert.Add(() => resources.ReleaseAsync(row.Id));
        // An address is leased only for a run: a start that fails gives it back (a full network refuses here, before QEMU).
        trace.Step("files");
        var nic = await network.LeaseAsync(row.Id, ct);
        if (nic is not null) revert.Add(() => network.ReturnLeaseAsync(row.Id, CancellationToken.None));
        trace.Step("address lease");
        // Our copy of the tap's descriptor closes once QEMU has its own: then the tap lives exactly as long as QEMU.
        using var tap = nic is null ? null : await network.OpenTapAsync(nic, ct);
        if (nic is not null)
        {
            spec = spec with { Nic = new GuestNic(nic.Tap, nic.Mac, tap!) };
            // A boot-set guest learns its address on the command line (unless it asks for DHCP with ip=...).
            if (spec.KernelPath is not null && !(spec.Cmdline ?? "").Split(' ').Any(a => a.StartsWith("ip=", StringComparison.Ordinal)))
                spec = spec with { Cmdline = $"{spec.Cmdline} {NetworkService.StaticCmdline(nic, network.Get(nic.Network))}".Trim() };
        }
        trace.Step("tap");
        // The NoCloud seed for this run: the address just leased, staged and renamed into place (rebuilt at every start).
        SeedAddress? address = null;
        if (nic is not null)
        {
            var net = network.Get(nic.Network);
            address = new SeedAddress(nic.Mac, nic.Address!, net.PrefixLength, net.Gateway);
        }
        string seed = await guestSeeds.WriteSeedAsync(row, image, address, ct);
        revert.Add(() => File.Delete(seed));
        GuestFiles.GiveFile(row.GuestUid, seed);
        spec = spec with { SeedPath = seed };
        trace.Step("seed");
        var guest = await hypervisor.LaunchAsync(spec, ct);
        trace.Step("qemu launch");
        revert.Add(async () =>
        {
            await guest.KillAsync(CancellationToken.None);
            await guest.DisposeAsync();
        });
        // Under its limits before its first instruction runs.
        await resources.AttachAsync(row.Id, $"Workspace {row.Name} of uid {row.Owner}", guest.Pid, ResourceLimits.For(row), ct);
        trace.Step("limits");
        await guest.RunAsync(ct);
        trace.Step("qmp cont");
        recorder.SetState(row, WorkspaceStates.Running, $"started ({accelerator})", guest.Pid, accelerator);
        guests.Attach(row.Id, guest);
        revert.Success();
        firstBoot.Begin(row, address);
        trace.Step("recorded");
        trace.Done();
    }

    /// <summary>ACPI powerdown, then wait; a guest that has not gone after the timeout is forced off.</summary>
    private async Task StopAsync(WorkspaceRow row, ActionOptions stop, CancellationToken ct)
    {
        var guest = guests.Guest(row);
        string reason;
        if (stop.Force)
        {
            await guest.KillAsync(ct);
            reason = "forced off";
        }
        else
        {
            // A paused guest cannot see the power button: let it run so it can shut down.
            if (row.State == WorkspaceStates.Paused) await guest.RunAsync(ct);
            await guest.PowerdownAsync(ct);
            var timeout = stop.Timeout ?? TimeSpan.FromSeconds(options.Value.StopTimeoutSeconds);
            try
            {
                var exit = await guest.Exited.WaitAsync(timeout, ct);
                reason = $"stopped: {exit.Reason} after ACPI powerdown";
            }
            catch (TimeoutException)
            {
                await guest.KillAsync(ct);
                reason = $"forced off: the guest did not power off within {timeout.TotalSeconds:0.#} s of ACPI powerdown";
            }
        }
        guests.TryDetach(row.Id, out _);
        await guest.DisposeAsync();
        await resources.ReleaseAsync(row.Id);
        recorder.SetState(row, WorkspaceStates.Stopped, reason, null, row.Accelerator); // its address back to the pool, with the state
        await network.LeaseReturnedAsync(row.Id, ct);
    }
}
