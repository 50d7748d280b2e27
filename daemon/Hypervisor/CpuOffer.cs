namespace Workspaces.Daemon.Hypervisor;

/// <summary>The CPU models (without "host") and machine types this host's QEMU gives.</summary>
public sealed record CpuOffer(IReadOnlySet<string> Models, IReadOnlySet<string> Machines);
