using System.Text;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// A guest restored from a template's RAM still believes it is the template: its NIC has the template's MAC
/// (virtio-net's migrated state overrides the MAC it was plugged with), the template's address, hostname and
/// instance id. Once it runs it is told who it is, from inside: the NIC takes the workspace's own MAC (the
/// driver hands it to the device, so QEMU's NIC changes with it, and the link flaps), then its own address,
/// route, hostname and instance id. Two clones of a template thus never share an address or an identity.
/// Runs through the shell port for now (the busybox test guest); the guest agent's guest-exec replaces it.
/// </summary>
public sealed class CloneIdentity(WorkspaceLayout layout, NetworkService network)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public async Task ApplyAsync(WorkspaceRow row, NicRow? nic, IGuest guest, CancellationToken ct)
    {
        _ = guest; // the agent channel will be the guest's; the shell port is a file of its directory
        await ShellPort.RunAsync(layout.ShellSocket(row.Id), row.Name, Script(row, nic), Patience, ct);
    }

    /// <summary>One command line for the guest's shell (busybox ip and hostname); values are ours, never the caller's text.</summary>
    public string Script(WorkspaceRow row, NicRow? nic)
    {
        var script = new StringBuilder();
        script.Append($"hostname {row.Name} && mkdir -p /run/workspace && echo {row.Id} > /run/workspace/instance-id");
        if (nic?.Address is { } address)
        {
            var net = network.Get(nic.Network);
            var subnet = Subnet.Parse(net.Subnet);
            script.Append($" && ip link set eth0 down && ip link set eth0 address {nic.Mac} && ip link set eth0 up")
                .Append($" && ip addr flush dev eth0 && ip addr add {address}/{subnet.PrefixLength} dev eth0")
                .Append($" && ip route replace default via {net.Gateway} && ip neigh flush all");
        }
        return script.ToString();
    }
}
