namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>guest-get-osinfo's answer: os-release's ID, NAME, PRETTY_NAME, VERSION_ID, and uname's release and machine.</summary>
public sealed record GuestOsInfo(string? Id, string? Name, string? PrettyName, string? Version, string? KernelRelease, string? Machine);
