namespace Workspaces.Daemon.Hypervisor;

/// <summary>Which accelerator guests use on this host, and why (shown in /v1/host).</summary>
public sealed record AcceleratorChoice(string Accelerator, string Reason);
