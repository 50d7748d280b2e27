using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

public static class HostCommands
{
    public static void Add(RootCommand root)
    {
        var host = new Command("host", "show this host: version, accelerator (and why), capacity");
        host.Run(async (client, parse, ct) =>
        {
            var h = await client.GetHostAsync(ct);
            if (Output.Json(parse)) { Output.WriteJson(h, WorkspacesJson.Default.HostInfo); return; }
            Output.Fields(
                ("Host", h.Hostname), ("Version", h.Version),
                ("Accelerator", h.Accelerator), ("Why", h.AcceleratorReason),
                ("CPUs", h.Cpus), ("Memory", $"{h.MemoryMiB} MiB"),
                ("Workspaces", $"{h.Workspaces} defined, {h.Running} running"),
                ("Capacity", $"{h.CapacityVcpus} vCPUs, {h.CapacityMemoryMiB} MiB (committed: {h.CommittedVcpus} vCPUs, {h.CommittedMemoryMiB} MiB)"),
                ("Limits", h.Enforcement == "none" ? "NOT enforced" : $"enforced by {h.Enforcement}"), ("How", h.EnforcementReason),
                ("Signing key", $"{h.SigningKey} ({h.SigningKeyFingerprint})"),
                ("Sealing key", $"{h.SealingKey} ({h.SealingKeyFingerprint})"),
                ("TLS fingerprint", h.TlsFingerprint), ("Peer listener", h.PeerListen ?? "off (peers.listen)"),
                ("State dir", h.StateDir));
        });
        root.Subcommands.Add(host);
    }
}
