using System.Text;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// A guest restored from a template's RAM still believes it is the template: its NIC has the template's MAC
/// (virtio-net's migrated state overrides the MAC it was plugged with), the template's address, hostname and
/// instance id. Once it runs it is told who it is, from inside, through the guest agent (guest-exec): the NIC
/// takes the workspace's own MAC (the driver hands it to the device, so QEMU's NIC changes with it), then its own address, route, hostname and instance id. Two clones of a template thus never
/// share an address or an identity. A template whose guest runs no agent cannot give its clones their own.
/// </summary>
public sealed class CloneIdentity(WorkspaceLayout layout, NetworkService network, GuestAgents agents)
{
    /// <summary>The agent of a guest that was just restored answers at once; this covers a loaded host.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Connects to the restored guest's agent and syncs, started while its RAM is still being loaded: the sync
    /// waits in the socket until the guest runs, and is then answered at once. Measured here: the first sync on a
    /// new connection to a guest's qemu-ga takes 65-90 ms when it has to wait for the guest to notice its port was
    /// opened, 2.5 ms once it has; overlapped with the restore, that wait costs the start nothing.
    /// A failure here is not one: ApplyAsync connects again and reports what goes wrong there.
    /// </summary>
    public async Task ConnectEarlyAsync(WorkspaceRow row, CancellationToken ct)
    {
        try
        {
            await agents.For(layout.AgentSocket(row.Id)).PingAsync(Patience, ct);
        }
        catch (Exception e) when (e is GuestAgentUnavailableException or GuestAgentException or OperationCanceledException) { }
    }

    public async Task ApplyAsync(WorkspaceRow row, NicRow? nic, CancellationToken ct)
    {
        var agent = agents.For(layout.AgentSocket(row.Id));
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(Patience);
        try
        {
            long pid = await agent.ExecStartAsync("/bin/sh", ["-c", Script(row, nic)], null, captureOutput: true, limit.Token, Patience);
            while (true)
            {
                var status = await agent.ExecStatusAsync(pid, limit.Token);
                if (status.Exited)
                {
                    // The connection stays open: it is the registry's, the one ws exec uses next (a new one would wait out the guest's notice again).
                    if (status.ExitCode == 0) return;
                    throw WorkspacesException.Conflict($"workspace '{row.Name}' could not take its own identity (exit {status.ExitCode?.ToString() ?? $"signal {status.Signal}"}): "
                        + Encoding.UTF8.GetString(status.Stderr).Trim() + Encoding.UTF8.GetString(status.Stdout).Trim());
                }
                await Task.Delay(5, limit.Token);
            }
        }
        catch (Exception e) when (e is GuestAgentUnavailableException or GuestAgentException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw WorkspacesException.Conflict(
                $"workspace '{row.Name}' was restored from its template but could not be given its own identity through the guest agent ({e.Message}); "
                + "a template needs a guest that runs qemu-guest-agent");
        }
    }

    /// <summary>
    /// One shell command line (busybox and iproute2 both take it); every value is ours, none the caller's text.
    /// Few processes, as each costs much in a guest under TCG: hostname and instance id by shell builtins, four ip calls.
    /// </summary>
    public string Script(WorkspaceRow row, NicRow? nic)
    {
        var script = new StringBuilder();
        script.Append($"echo {row.Name} > /proc/sys/kernel/hostname && {{ [ -d /run/workspace ] || mkdir -p /run/workspace; }} && echo {row.Id} > /run/workspace/instance-id");
        if (nic?.Address is { } address)
        {
            var net = network.Get(nic.Network);
            var subnet = Subnet.Parse(net.Subnet);
            // virtio-net changes its MAC live (IFF_LIVE_ADDR_CHANGE, through the control queue): no down and up needed.
            // Flushing the template's address drops its routes too: the default route is set again.
            script.Append($" && ip link set eth0 address {nic.Mac}")
                .Append($" && ip addr flush dev eth0 && ip addr add {address}/{subnet.PrefixLength} dev eth0")
                .Append($" && ip route replace default via {net.Gateway}");
        }
        return script.ToString();
    }
}
