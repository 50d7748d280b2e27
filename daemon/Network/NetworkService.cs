using Workspaces.Daemon.Core;
using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;
using Workspaces.Native;
using System.Security.Cryptography;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Network;

/// <summary>
/// Networks as a resource: a bridge holding the gateway address, a dnsmasq pinned to the addresses
/// SQLite leased to running workspaces, and the traffic policy in nftables. SQLite holds intent; ReconcileAsync makes
/// the host match it at start, and every change re-applies the policy in one transaction.
/// </summary>
public sealed partial class NetworkService(NetworkRepository networks, Links links, DhcpServer dhcp, Firewall firewall,
    IOptionsMonitor<WorkspacesOptions> policy, WireGuardTunnel tunnel, SpanLinks spanLinks, ISpanPeers spanPeers, UnderlayPaths underlayPaths, ILogger<NetworkService> logger)
{
    public const string DefaultName = "default";
    public const string DefaultSubnet = "10.87.0.0/24";
    private readonly SemaphoreSlim _gate = new(1, 1);

    public IReadOnlyList<NetworkRow> List() => networks.List();

    public NetworkRow Get(string name) =>
        networks.Find(name) ?? throw WorkspacesException.NotFound($"no network named {Names.Quote(name)}");

    public async Task<NetworkRow> CreateAsync(CreateNetworkRequest request, CancellationToken ct)
    {
        Names.CheckNetwork(request.Name ?? "");
        var subnet = Subnet.Parse(request.Subnet ?? "");
        var row = new NetworkRow
        {
            Name = request.Name!,
            Bridge = "wsbr-" + request.Name,
            Subnet = subnet.ToString(),
            Gateway = subnet.Gateway.ToString(),
            Nat = request.Nat,
            Isolated = request.Isolated,
            IsolateOwners = request.IsolateOwners,
            Egress = Egress.Normalize(request.Egress ?? ""),
            CreatedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        await CheckSpanAsync(request, row, ct);
        if (request.Nat && request.Isolated) throw WorkspacesException.BadRequest("a network cannot be both --nat and --isolated: isolated traffic never leaves the bridge");
        await _gate.WaitAsync(ct);
        try
        {
            if (networks.List().FirstOrDefault(n => Subnet.Parse(n.Subnet).Network.Contains(subnet.Network.BaseAddress)
                                                     || subnet.Network.Contains(Subnet.Parse(n.Subnet).Network.BaseAddress)) is { } overlap)
                throw WorkspacesException.Conflict($"subnet {row.Subnet} overlaps network '{overlap.Name}' ({overlap.Subnet})");
            if (!networks.TryInsert(row)) throw WorkspacesException.Conflict($"a network named '{row.Name}' already exists");
            try
            {
                await RealizeAsync(row, ct);
                await firewall.ApplyAsync(ct);
            }
            catch (Exception failure)
            {
                // Undo what was made; an undo that fails too must not hide why the create failed.
                try
                {
                    networks.DeleteUnlessUsed(row.Name);
                    if (row.Vni is { } vni) await spanLinks.DeleteAsync(vni, CancellationToken.None);
                    await dhcp.StopAsync(row.Name);
                    await links.DeleteAsync(row.Bridge, CancellationToken.None);
                }
                catch (Exception undo)
                {
                    // Both kept whole (types, stacks) for the log; the message says both.
                    throw new NetworkException($"{failure.Message} (and undoing the network's half-made parts failed: {undo.Message})",
                        new AggregateException(failure, undo));
                }
                throw;
            }
            return row;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The network a workspace asked for; "default" is made, with NAT, the first time an admin asks
    /// for it (a bridge, DHCP, masquerade and IP forwarding are the host's to decide).
    /// </summary>
    public async Task<NetworkRow> ResolveAsync(string name, Caller caller, CancellationToken ct)
    {
        if (networks.Find(name) is { } existing) return existing;
        if (name != DefaultName) throw WorkspacesException.NotFound($"no network named {Names.Quote(name)}; make it with `ws network create`");
        if (!caller.IsAdmin)
            throw WorkspacesException.Forbidden($"there is no '{DefaultName}' network yet, and only root and the workspaces group may create networks; ask an admin to run `ws network create {DefaultName} --subnet {DefaultSubnet} --nat`");
        try
        {
            return await CreateAsync(new CreateNetworkRequest(DefaultName, DefaultSubnet, Nat: true), ct);
        }
        catch (WorkspacesException e) when (e.Status == 409 && networks.Find(name) is { } raced)
        {
            return raced;
        }
    }

    public async Task DeleteAsync(string name, CancellationToken ct)
    {
        var network = Get(name);
        var users = networks.DeleteUnlessUsed(name);
        if (users.Count > 0) throw WorkspacesException.Conflict($"network '{name}' still has workspaces on it: {string.Join(", ", users)}");
        await firewall.ApplyAsync(ct);
        await dhcp.StopAsync(network.Name);
        if (network.Vni is { } vni) await UnspanAsync(vni, ct);
        await links.DeleteAsync(network.Bridge, ct);
    }

    /// <summary>
    /// Makes a NIC for a new workspace: a locally administered MAC (its identity, fixed from now on)
    /// and no address: that is leased when it starts (LeaseAsync), so a network's size bounds how
    /// many of its workspaces run at once, not how many are defined. Nothing on the host changes.
    /// </summary>
    public async Task<NicRow> AttachAsync(WorkspaceRow workspace, string networkName, string? egress, int? rateKbit, Caller caller, CancellationToken ct)
    {
        var network = await ResolveAsync(networkName, caller, ct);
        if (rateKbit is <= 0) throw WorkspacesException.BadRequest("a rate limit is a positive number of kbit/s");
        for (int attempt = 0; attempt < 8; attempt++)
        {
            var nic = new NicRow
            {
                WorkspaceId = workspace.Id,
                Network = network.Name,
                Mac = MacAddresses.New(),
                Tap = "wst" + workspace.Id[..12],
                Egress = egress is null ? null : Egress.Normalize(egress),
                RateKbit = rateKbit,
            };
            if (networks.TryInsertNic(nic)) return nic; // a MAC drawn twice (1 in 16M) is drawn again
        }
        throw WorkspacesException.Conflict($"could not draw a free MAC address for a NIC on network '{network.Name}'; try again");
    }

    /// <summary>
    /// Before a start is accepted: refuses it at once (409, before an operation is made) when the
    /// workspace's network has no address left. The lease itself decides races (LeaseAsync).
    /// </summary>
    public void CheckRoom(string workspaceId)
    {
        if (networks.NicOf(workspaceId) is not { Address: null } nic) return;
        var network = Get(nic.Network);
        var subnet = Subnet.Parse(network.Subnet);
        if (subnet.FirstFree(networks.AddressesIn(network.Name)) is null) throw Full(network, subnet);
    }

    private static WorkspacesException Full(NetworkRow network, Subnet subnet) =>
        WorkspacesException.Conflict($"network '{network.Name}' ({network.Subnet}) is full: all {subnet.Size} of its addresses are leased to running workspaces; stop one of them, or put this workspace on a larger network");

    /// <summary>
    /// At start: the workspace's NIC gets the lowest free address of its network (kept if it still
    /// holds one, or the preferred one when free), in SQLite; PublishAsync then tells DHCP and the policy. Null: no NIC.
    /// A full network refuses the start, naming itself and its size.
    /// </summary>
    public NicRow? Lease(string workspaceId, string? preferred = null)
    {
        if (networks.NicOf(workspaceId) is not { } nic) return null;
        var network = Get(nic.Network);
        // A guest restored from saved state still has the address it was saved with: it gets it again when it is free.
        if (nic.Address is null && preferred is not null && networks.TryLease(workspaceId, preferred)) nic = networks.NicOf(workspaceId)!;
        if (nic.Address is null)
        {
            var subnet = Subnet.Parse(network.Subnet);
            var (from, to) = SliceOf(network, subnet);
            for (int attempt = 0; ; attempt++)
            {
                var address = subnet.FirstFree(networks.AddressesIn(network.Name), from, to) ?? throw Full(network, subnet);
                if (networks.TryLease(workspaceId, address.ToString())) break;
                // Another start took that address between the read and the write: read again.
                if (attempt == 7) throw WorkspacesException.Conflict($"could not lease an address on network '{network.Name}' (too many starts at once); try again");
            }
            nic = networks.NicOf(workspaceId)!;
        }
        return nic;
    }

    /// <summary>DHCP answers the NIC's MAC with its leased address and the policy lets it through (a start does this while QEMU starts).</summary>
    public Task PublishAsync(NicRow nic, CancellationToken ct) => SyncAsync(Get(nic.Network), ct);

    /// <summary>A lease given back (SQLite already says so): DHCP and the policy forget the address.</summary>
    public async Task LeaseReturnedAsync(string workspaceId, CancellationToken ct)
    {
        if (networks.NicOf(workspaceId) is not { } nic) return;
        await SyncAsync(Get(nic.Network), ct);
    }

    /// <summary>Gives the address back without a state change (a start that failed before it was recorded).</summary>
    public async Task ReturnLeaseAsync(string workspaceId, CancellationToken ct)
    {
        networks.ReturnLease(workspaceId);
        await LeaseReturnedAsync(workspaceId, ct);
    }

    private async Task SyncAsync(NetworkRow network, CancellationToken ct)
    {
        await dhcp.EnsureAsync(network, networks.Leased(network.Name), ct);
        await firewall.ApplyAsync(ct);
    }

    public NicRow? NicOf(string workspaceId) => networks.NicOf(workspaceId);

    /// <summary>Forgets a deleted workspace's NIC and every rule of it.</summary>
    public async Task ReleaseAsync(string workspaceId, CancellationToken ct)
    {
        if (networks.NicOf(workspaceId) is not { } nic) return;
        networks.DeleteNic(workspaceId);
        if (nic.Address is not null) await SyncAsync(Get(nic.Network), ct); // only a running NIC had rules or a DHCP host
    }

    /// <summary>
    /// Before QEMU starts: its tap, made here and plugged into its bridge; the caller hands the
    /// descriptor to QEMU and closes its own, so the tap goes when QEMU goes.
    /// </summary>
    public async Task<SafeFileHandle> OpenTapAsync(NicRow nic, CancellationToken ct)
    {
        await links.DeleteAsync(nic.Tap, ct); // one left by a QEMU killed mid-exit: the name is ours
        SafeFileHandle tap;
        try { tap = Tun.OpenTap(nic.Tap); }
        catch (NativeException e) { throw new NetworkException($"cannot make tap {nic.Tap}: {e.Message}"); }
        try
        {
            await links.PlugAsync(nic.Tap, Get(nic.Network).Bridge, ct, MtuOf(nic.Network));
            return tap;
        }
        catch
        {
            tap.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Forwards a host port to the guest, for anyone who reaches this host. That is an admin's power;
    /// ordinary users get only ports in policy.userPortRange, never a privileged one, never one a
    /// process on the host already serves.
    /// </summary>
    public async Task ExposeAsync(WorkspaceRow workspace, string protocol, int hostPort, int guestPort, Caller caller, CancellationToken ct)
    {
        if (protocol is not ("tcp" or "udp")) throw WorkspacesException.BadRequest($"protocol {Names.Quote(protocol)} is not tcp or udp");
        if (hostPort is < 1 or > 65535 || guestPort is < 1 or > 65535) throw WorkspacesException.BadRequest("ports are 1-65535");
        if (!caller.IsAdmin) CheckUserPort(protocol, hostPort);
        if (networks.NicOf(workspace.Id) is null) throw WorkspacesException.Conflict($"workspace '{workspace.Name}' has no network to forward to");
        if (!networks.TryAddForward(new PortForwardRow { WorkspaceId = workspace.Id, Protocol = protocol, HostPort = hostPort, GuestPort = guestPort }))
            throw WorkspacesException.Conflict($"host port {protocol}/{hostPort} is already forwarded");
        await firewall.ApplyAsync(ct);
    }

    private void CheckUserPort(string protocol, int hostPort)
    {
        var range = PortRange.Parse(policy.CurrentValue.Policy.UserPortRange);
        if (range is null)
            throw WorkspacesException.Forbidden("forwarding host ports is reserved to admins here (the host's policy.userPortRange is empty)");
        if (hostPort < 1024)
            throw WorkspacesException.Forbidden($"host port {hostPort} is privileged (below 1024): only admins may forward it");
        if (!range.Value.Contains(hostPort))
            throw WorkspacesException.Forbidden($"host port {hostPort} is outside the ports users may forward ({range})");
        if (HostPorts.InUse(protocol, hostPort))
            throw WorkspacesException.Conflict($"host port {protocol}/{hostPort} is already in use by a process on the host");
    }

    public IReadOnlyList<PortForwardRow> ForwardsOf(string workspaceId) => networks.Forwards(workspaceId);

    public IReadOnlyList<NicRow> NicsOn(string network) => networks.Nics(network);

    public IReadOnlyList<string> Leases(string network) => dhcp.Leases(network);

    public IReadOnlyList<string> RulesOf(string subject) => firewall.RulesOf(subject);

    /// <summary>At daemon start: bridges, DHCP servers and the policy as SQLite says.</summary>
    public async Task ReconcileAsync(CancellationToken ct)
    {
        var all = networks.List();
        networks.ReturnStaleLeases();
        await dhcp.ReapStraysAsync(all.Select(n => n.Name).ToList());
        if (all.Count == 0) return;
        // A spanning network's peers may be down as this host starts: that must not stop the daemon; the peer monitor retries.
        foreach (var network in all) await RealizeAsync(network, ct, spanNow: false);
        await firewall.ApplyAsync(ct);
        await SuperviseAsync(ct);
    }

    private async Task RealizeAsync(NetworkRow network, CancellationToken ct, bool spanNow = true)
    {
        await links.EnsureBridgeAsync(network.Bridge, $"{network.Gateway}/{network.PrefixLength}", ct);
        if (!network.Isolated) EnableForwarding();
        if (network.Spanning && spanNow) await SpanAllAsync(ct);
        await dhcp.EnsureAsync(network, networks.Leased(network.Name), ct);
    }

    /// <summary>Routing between bridges and out of the host needs IPv4 forwarding, as libvirt's NAT networks do.</summary>
    private static void EnableForwarding()
    {
        const string path = "/proc/sys/net/ipv4/ip_forward";
        try
        {
            if (File.ReadAllText(path).Trim() != "1") File.WriteAllText(path, "1");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NetworkException($"cannot turn on IPv4 forwarding ({path}: {e.Message}); make it writable or set it to 1, or use an --isolated network");
        }
    }

    /// <summary>The kernel's ip= parameter (client::gateway:netmask::device:autoconf) for a static address.</summary>
    public static string StaticCmdline(NicRow nic, NetworkRow network) =>
        $"ip={nic.Address}::{network.Gateway}:{Subnet.Parse(network.Subnet).Netmask}::eth0:off";
}
