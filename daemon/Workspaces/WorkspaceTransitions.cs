using Workspaces.Daemon.Core;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
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
    WorkspaceDataDisks dataDisks,
    GuestSupervisor guests,
    GuestSpecs specs,
    WorkspaceLayout layout,
    ImageService images,
    NetworkService network,
    IHypervisor hypervisor,
    KvmProbe kvm,
    Admission admission,
    IResourceController resources,
    WorkspaceAgent agents,
    SavedStates saved,
    CloneIdentity identities,
    TemplateRam templateRam,
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
                await StartAsync(row, how, ct);
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

    private async Task StartAsync(WorkspaceRow row, ActionOptions how, CancellationToken ct)
    {
        var trace = new StartTrace(logger, row.Name);
        var image = images.Get(row.ImageId);
        // Restored rather than booted: from its own saved state (Saved), or, at its first start, from its template's RAM.
        var restore = how.Incoming is null ? await RestorePlanAsync(row, image, how.DiscardState, ct) : null;
        trace.Step("saved state check");
        var (shape, lease) = await admission.AdmitStartAsync(row.Id, new WorkspaceShape(row.Vcpus, row.MemoryMib), how.AcceptOffer, ct);
        using var _ = lease; // held until the start is recorded, so concurrent starts see each other
        if (shape.Vcpus != row.Vcpus || shape.MemoryMiB != row.MemoryMib)
        {
            (row.Vcpus, row.MemoryMib, row.UpdatedAt) = (shape.Vcpus, shape.MemoryMiB, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            workspaces.SetResources(row); // the accepted counter-offer becomes the spec
        }
        trace.Step("admission");
        await images.AdmitAsync(image, ct); // the image may have been damaged, or the policy changed, since create
        trace.Step("image check");
        var accelerator = (await kvm.Choice).Accelerator;
        if (row.CpuModel == CpuModels.HostPassthrough && accelerator != "kvm")
            throw WorkspacesException.Conflict($"workspace '{row.Name}' runs on the host's own CPU (cpu model 'host'), which needs KVM; this host runs {accelerator}");
        var spec = specs.For(row, image, accelerator);
        if (restore is not null) spec = spec with { Incoming = true, MemoryMiB = restore.MemoryMib, Vcpus = restore.Vcpus };
        if (how.Incoming is not null) spec = spec with { Incoming = true }; // a live move's destination: its state arrives over the peer channel
        var chain = images.DiskChain(image);
        if (chain.Sealed)
            spec = spec with
            {
                SealedDisk = chain.On(new DiskLayer(layout.Overlay(row.Id), "qcow2", Encrypted: true)),
                DiskSecret = DiskKeys.Passphrase(images.Keys.Unseal(image)),
            };
        spec = spec with { DataDisks = await dataDisks.ForStartAsync(row, ct) }; // plugged over QMP before the guest runs, as hot-plugs are
        trace.Step("spec");
        GuestFiles.GiveTo(row.GuestUid, layout.Dir(row.Id), image.Disk is null ? null : layout.Overlay(row.Id));
        await using var revert = new Reverter(logger);
        // Undone last (after QEMU is gone): whatever part of its cgroups an attach made, even one that failed half-way.
        revert.Add(() => resources.ReleaseAsync(row.Id));
        // An address is leased only for a run: a start that fails gives it back (a full network refuses here, before QEMU).
        trace.Step("files");
        var nic = network.Lease(row.Id, preferred: restore?.Address);
        // DHCP and the policy learn the address while QEMU starts (dnsmasq's restart and the rule set: ~15 ms);
        // the guest runs only once they have. Giving the address back waits for that first, so it is the last word.
        var published = nic is null ? Task.CompletedTask : network.PublishAsync(nic, ct);
        if (nic is not null)
            revert.Add(async () =>
            {
                await published.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                await network.ReturnLeaseAsync(row.Id, CancellationToken.None);
            });
        trace.Step("address lease");
        // Our copy of the tap's descriptor closes once QEMU has its own: then the tap lives exactly as long as QEMU.
        using var tap = nic is null ? null : await network.OpenTapAsync(nic, ct);
        if (nic is not null)
        {
            spec = spec with { Nic = new GuestNic(nic.Tap, nic.Mac, tap!, network.MtuOf(nic.Network)) };
            // A boot-set guest learns its address on the command line (unless it asks for DHCP with ip=...).
            if (spec.KernelPath is not null && !(spec.Cmdline ?? "").Split(' ').Any(a => a.StartsWith("ip=", StringComparison.Ordinal)))
                spec = spec with { Cmdline = $"{spec.Cmdline} {NetworkService.StaticCmdline(nic, network.Get(nic.Network))}".Trim() };
        }
        trace.Step("tap");
        SeedAddress? address = null;
        if (nic is not null)
        {
            var net = network.Get(nic.Network);
            address = new SeedAddress(nic.Mac, nic.Address!, net.PrefixLength, net.Gateway);
        }
        spec = spec with { SeedDrive = true };
        await agents.ForgetAsync(row); // a connection to the last run's agent socket is dead
        // QEMU writes its pid file early in its start, long before it answers on QMP: it is put under its
        // limits from there, while it initializes. The first move into a cgroup v1 hierarchy waits out a
        // kernel RCU grace period (measured: 12 ms, most of what a start cost over a bare QEMU); this way
        // that wait overlaps QEMU's own start. Its vCPUs stay stopped (-S) until cont, so it is under its
        // limits before its first instruction runs either way.
        var launching = hypervisor.LaunchAsync(spec, ct);
        revert.Add(() => KillIfLaunchedAsync(launching));
        // The NoCloud seed for this run (the address just leased) is made while QEMU starts too (genisoimage: 7 ms),
        // and goes into its empty cdrom before the guest runs.
        var seeding = guestSeeds.WriteSeedAsync(row, image, address, ct);
        revert.Add(() => DeleteWhenWrittenAsync(seeding));
        var limits = ResourceLimits.For(row);
        string description = $"Workspace {row.Name} of uid {row.Owner}";
        int? early = await PidWhileLaunchingAsync(spec, launching, ct);
        if (early is { } pid) await resources.AttachAsync(row.Id, description, pid, limits, ct);
        trace.Step(early is null ? "qemu pid (after launch)" : "limits (while QEMU starts)");
        var guest = await launching;
        trace.Step("qemu launch");
        await published;
        trace.Step("network published");
        if (guest.Pid != early) await resources.AttachAsync(row.Id, description, guest.Pid, limits, ct);
        trace.Step("limits");
        string seed = await seeding;
        GuestFiles.GiveFile(row.GuestUid, seed);
        await guest.ChangeMediumAsync(QemuCommandLine.SeedDevice, seed, ct);
        trace.Step("seed");
        // A clone of a template, a copy from a peer (its RAM is its source's), or a guest whose old address went to another
        // meanwhile, is told who it is once it runs. A guest received live kept the address it had on its last host: told
        // the one leased here, as a stateful move's is; a live copy is told its own name and id even without a NIC.
        bool newIdentity = restore is not null && (restore.Template || row.CopiedFrom is not null || (nic is not null && nic.Address != restore.Address))
                           || how.Incoming is not null && (nic is not null || row.CopiedFrom is not null);
        var agentConnected = newIdentity ? identities.ConnectEarlyAsync(row, ct) : Task.CompletedTask;
        if (how.Incoming is { } receive)
        {
            await receive(guest, ct);
            trace.Step("state received live");
        }
        else if (restore is not null)
        {
            await guest.RestoreStateAsync(restore.Path, ct);
            trace.Step("state restored");
        }
        await guest.RunAsync(ct);
        trace.Step("qmp cont");
        await agentConnected;
        if (newIdentity)
        {
            await identities.ApplyAsync(row, nic, ct);
            trace.Step("identity");
        }
        string reason = how.Incoming is not null ? $"received live from its last host ({accelerator})"
            : restore is null ? $"started ({accelerator})"
            : restore.Template ? $"launched from template '{image.Name}' ({accelerator})" : $"restored from its saved state ({accelerator})";
        recorder.SetState(row, WorkspaceStates.Running, reason, guest.Pid, accelerator);
        guests.Attach(row.Id, guest);
        revert.Success();
        // It runs from RAM now: its saved state (or a discarded one) is done with.
        if (saved.Find(row.Id) is not null) saved.Forget(row.Id);
        firstBoot.Begin(row, address);
        trace.Step("recorded");
        trace.Done();
    }

    /// <summary>The guest's pid as soon as QEMU has written it, or null if the launch ended first.</summary>
    private static async Task<int?> PidWhileLaunchingAsync(GuestSpec spec, Task launching, CancellationToken ct)
    {
        while (!launching.IsCompleted)
        {
            if (spec.ReadWrittenPid() is { } pid) return pid;
            await Task.WhenAny(launching, Task.Delay(1, ct)); // QEMU needs tens of ms: a short poll costs nothing
        }
        return null;
    }

    /// <summary>Where a start restores from, checked now (a saved state that does not match its hash is refused), or null: a boot.</summary>
    private async Task<RestorePlan?> RestorePlanAsync(WorkspaceRow row, ImageRow image, bool discard, CancellationToken ct)
    {
        if (row.State == WorkspaceStates.Saved && !discard && saved.Find(row.Id) is { } state)
            return new RestorePlan(await saved.VerifyAsync(row, state, ct), state.MemoryMib, state.Vcpus, state.Address, Template: false);
        // The template's RAM is a blob of its image: checked with the rest of the chain (images.AdmitAsync).
        if (row.State == WorkspaceStates.Defined && !discard && image.State is { } blob)
        {
            if (image.StateFormat != SavedStates.Format)
                throw WorkspacesException.Conflict($"template '{image.Name}' holds RAM state in format {image.StateFormat}, which this daemon cannot restore");
            return new RestorePlan(templateRam.PathFor(blob), image.StateMemoryMib ?? row.MemoryMib, image.StateVcpus ?? row.Vcpus, null, Template: true);
        }
        return null;
    }

    /// <summary>A stop that keeps the guest: pause, save its RAM and devices beside the overlay, record the hash, then quit QEMU.</summary>
    private async Task SaveAsync(WorkspaceRow row, CancellationToken ct)
    {
        var guest = guests.Guest(row);
        bool wasRunning = row.State == WorkspaceStates.Running;
        if (wasRunning) await guest.PauseAsync(ct);
        SavedStateRow state;
        try
        {
            state = await saved.SaveAsync(row, guest, layout.SavedState(row.Id), network.NicOf(row.Id)?.Address, ct);
        }
        catch
        {
            // Nothing was recorded: the guest goes on as it was.
            if (wasRunning) await guest.RunAsync(CancellationToken.None);
            throw;
        }
        // Recorded before QEMU quits: a daemon that dies in between finds a QEMU no state claims, and removes it.
        guests.TryDetach(row.Id, out _);
        string reason = $"saved: RAM and device state, {state.Size >> 20} MiB compressed, sha256 {state.Sha256[..12]}";
        saved.Record(state, reason);
        recorder.Recorded(row, WorkspaceStates.Saved, reason);
        await guest.KillAsync(CancellationToken.None);
        await guest.DisposeAsync();
        await resources.ReleaseAsync(row.Id);
        await network.LeaseReturnedAsync(row.Id, CancellationToken.None);
    }


    /// <summary>Undoes a seed that may still be being written, or failed (then there is nothing to undo).</summary>
    private static async Task DeleteWhenWrittenAsync(Task<string> seeding)
    {
        try { File.Delete(await seeding); }
        catch { } // its writing failed and said so, and left nothing (SeedDisk writes aside, then renames)
    }

    /// <summary>Undoes a launch that may still be under way, or may have failed (then there is nothing to undo).</summary>
    private static async Task KillIfLaunchedAsync(Task<IGuest> launching)
    {
        IGuest guest;
        try { guest = await launching; }
        catch { return; } // the launch failed and said so; its QEMU is gone with it
        await guest.KillAsync(CancellationToken.None);
        await guest.DisposeAsync();
    }

    /// <summary>How long a stop gives the guest agent to take guest-shutdown before it presses the ACPI power button instead.</summary>
    private static readonly TimeSpan AgentShutdownTimeout = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// guest-shutdown when the guest's agent answers, else ACPI powerdown; then wait, and a guest that
    /// has not gone after the timeout is forced off.
    /// </summary>
    private async Task StopAsync(WorkspaceRow row, ActionOptions stop, CancellationToken ct)
    {
        if (stop.Stateful)
        {
            await SaveAsync(row, ct);
            return;
        }
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
            string how = "ACPI powerdown";
            try
            {
                await agents.Of(row).ShutdownAsync("powerdown", ct, AgentShutdownTimeout);
                how = "guest-shutdown";
            }
            catch (Exception e) when (e is Hypervisor.Qemu.GuestAgentUnavailableException or Hypervisor.Qemu.GuestAgentException)
            {
                await guest.PowerdownAsync(ct); // no agent answers (or it refused): the power button
            }
            var timeout = stop.Timeout ?? TimeSpan.FromSeconds(options.Value.StopTimeoutSeconds);
            try
            {
                var exit = await guest.Exited.WaitAsync(timeout, ct);
                reason = $"stopped: {exit.Reason} after {how}";
            }
            catch (TimeoutException)
            {
                await guest.KillAsync(ct);
                reason = $"forced off: the guest did not power off within {timeout.TotalSeconds:0.#} s of {how}";
            }
        }
        guests.TryDetach(row.Id, out _);
        await guest.DisposeAsync();
        await agents.ForgetAsync(row);
        await resources.ReleaseAsync(row.Id);
        recorder.SetState(row, WorkspaceStates.Stopped, reason, null, row.Accelerator); // its address back to the pool, with the state
        await network.LeaseReturnedAsync(row.Id, ct);
    }
}
