namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// Builds qemu-system arguments from a GuestSpec, as a list (never a shell string).
/// The guest starts with vCPUs stopped (-S) and a QMP server socket, daemonizes into its own
/// session so it outlives workspacesd, and writes its serial console to a log file.
/// </summary>
public static class QemuCommandLine
{
    public static List<string> Build(GuestSpec spec)
    {
        var args = new List<string>
        {
            "-name", $"guest={spec.HostName},debug-threads=on",
            "-machine", "q35",
            "-accel", spec.Accelerator,
            "-cpu", CpuModels.ForLaunch(spec.CpuModel, spec.Accelerator),
            "-smp", spec.Vcpus.ToString(),
            "-m", $"{spec.MemoryMiB}M",
            "-nodefaults", "-no-user-config", "-display", "none",
            "-S",
            "-qmp", $"unix:{spec.QmpSocket},server=on,wait=off",
            "-chardev", $"file,id=console,path={spec.ConsoleLog},append=on",
            "-serial", "chardev:console",
            "-chardev", $"socket,id=shell,path={spec.ShellSocket},server=on,wait=off",
            "-serial", "chardev:shell",
            // The guest agent's port, named as qemu-ga looks for it; the host end is a socket in the
            // workspace's private directory, like qmp.sock.
            "-device", "virtio-serial-pci,id=vser0",
            "-chardev", $"socket,id=agent,path={spec.AgentSocket},server=on,wait=off",
            "-device", "virtserialport,bus=vser0.0,chardev=agent,name=org.qemu.guest_agent.0",
            "-pidfile", spec.PidFile,
            "-device", "virtio-balloon-pci,id=balloon0", // so memory can be renegotiated while it runs
            // Not a PCI device: the other devices keep their addresses. Its GUID tells a copy from its source (VmGenerationId).
            "-device", $"vmgenid,guid={VmGenerationId.For(spec.HostName)}",
            "-daemonize",
            // QEMU's own seccomp filter. Not elevateprivileges=deny nor spawn=deny: QEMU 7.2 installs the
            // filter before it daemonizes, and those forbid the setsid() and fork() that -daemonize needs
            // (measured: SIGSYS). Their job is done by the launch instead: its own uid, no capabilities
            // and no_new_privs (QemuDriver.Launcher).
            "-sandbox", "on,obsolete=deny,resourcecontrol=deny",
        };
        // Restored rather than booted: QEMU waits for migrate-incoming, given once its devices are plugged over QMP.
        if (spec.Incoming) args.AddRange(["-incoming", "defer"]);
        if (spec.KernelPath is not null)
        {
            args.AddRange(["-kernel", spec.KernelPath]);
            if (spec.InitrdPath is not null) args.AddRange(["-initrd", spec.InitrdPath]);
            if (!string.IsNullOrEmpty(spec.Cmdline)) args.AddRange(["-append", spec.Cmdline]);
        }
        if (spec.Nic is not null)
            args.AddRange(["-device", $"pcie-root-port,id={NicPort},bus=pcie.0,chassis=2"]); // its tap arrives over QMP, before the guest runs
        if (spec.SealedDisk is not null)
            args.AddRange(["-device", $"pcie-root-port,id={SealedDiskPort},bus=pcie.0,chassis=1"]); // the sealed disk is plugged here over QMP, before the guest runs
        else if (spec.DiskPath is not null)
            args.AddRange(["-drive", $"file={Escape(spec.DiskPath)},format=qcow2,if=virtio,discard=unmap"]);
        if (spec.SeedDrive)
            args.AddRange([
                // A SCSI cdrom on virtio-scsi, empty: its medium (the seed) goes in over QMP, blockdev-change-medium.
                // Found by the Debian cloud kernel's modules (it has no AHCI for a SATA cdrom).
                "-device", "virtio-scsi-pci,id=scsi0",
                "-device", $"scsi-cd,bus=scsi0.0,id={SeedDevice}",
            ]);
        args.AddRange(DataDiskPlug.PortArguments()); // after the devices above, so their PCI addresses stay as they were
        return args;
    }

    /// <summary>The seed's cdrom, as QMP names it (blockdev-change-medium id).</summary>
    public const string SeedDevice = "seed0";

    public const string SealedDiskPort = "rp-disk";
    public const string NicPort = "rp-net";

    /// <summary>QEMU option values separate with commas; a literal comma is doubled.</summary>
    private static string Escape(string value) => value.Replace(",", ",,");
}
