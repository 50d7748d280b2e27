using Workspaces.Client;

namespace Workspaces.Testing;

/// <summary>
/// Several hosts for federation tests: one network namespace each, all joined to a bridge in a
/// "switch" namespace by veth pairs (host i is 10.99.N.i on the host side, its link named so that
/// `tc` or `ip link set down` can be applied to exactly one host's cable), and a real workspacesd
/// in each with its peer listener on port 8743. Nothing touches the machine's own network.
/// </summary>
public sealed class PeerHosts : IAsyncDisposable
{
    public const int Port = 8743;
    private readonly NetNamespace _switch;
    private readonly List<NetNamespace> _namespaces = [];

    private PeerHosts(NetNamespace sw, string subnet) => (_switch, Subnet) = (sw, subnet);

    /// <summary>The /24 the hosts share, e.g. "10.99.37".</summary>
    public string Subnet { get; }

    public List<Host> Hosts { get; } = [];

    public Host this[int i] => Hosts[i];

    public sealed record Host(string Name, NetNamespace Namespace, DaemonProcess Daemon, string Address, string SwitchLink)
    {
        public WorkspacesClient Client => Daemon.Client;
        public string Endpoint => $"{Address}:{Port}";

        /// <summary>Its daemon's WireGuard interface (spanning networks), named apart from every other daemon's on the machine.</summary>
        public string WireGuardInterface => WireGuardName(int.Parse(Name[4..]), Namespace);

        /// <summary>The host's interface inside its namespace, e.g. eth2 for host2.</summary>
        public string Interface => $"eth{Name[4..]}";
    }

    /// <summary>What one host gets beyond the others: settings merged over config, environment for its daemon (a fault hook).</summary>
    public sealed record HostOptions(Dictionary<string, object>? Config = null, Dictionary<string, string>? Environment = null);

    /// <summary>
    /// Starts count daemons named host1..hostN; config is merged into each one's settings, then
    /// perHost(i) (i from 1) for that host alone.
    /// </summary>
    public static async Task<PeerHosts> StartAsync(int count, Dictionary<string, object>? config = null, Func<int, HostOptions?>? perHost = null)
    {
        var sw = await NetNamespace.CreateAsync("s");
        var hosts = new PeerHosts(sw, $"10.99.{Random.Shared.Next(1, 250)}");
        try
        {
            await sw.RunAsync("ip", "link", "add", "br0", "type", "bridge");
            await sw.RunAsync("ip", "link", "set", "br0", "up");
            for (int i = 1; i <= count; i++) await hosts.AddHostAsync(i, config, perHost?.Invoke(i));
            return hosts;
        }
        catch
        {
            await hosts.DisposeAsync();
            throw;
        }
    }

    private async Task AddHostAsync(int i, Dictionary<string, object>? config, HostOptions? own)
    {
        var ns = await NetNamespace.CreateAsync("p");
        _namespaces.Add(ns);
        string address = $"{Subnet}.{i}", inside = $"eth{i}", outside = $"h{i}{ns.Name[^5..]}";
        await Processes.MustAsync("ip", ["link", "add", inside, "netns", ns.Name, "type", "veth", "peer", "name", outside, "netns", _switch.Name]);
        await ns.RunAsync("ip", "addr", "add", $"{address}/24", "dev", inside);
        await ns.RunAsync("ip", "link", "set", inside, "up");
        await _switch.RunAsync("ip", "link", "set", outside, "master", "br0");
        await _switch.RunAsync("ip", "link", "set", outside, "up");
        var settings = new Dictionary<string, object>
        {
            ["peers"] = new Dictionary<string, object> { ["listen"] = $"{address}:{Port}", ["name"] = $"host{i}", ["checkIntervalSeconds"] = 2,
                // wireguard-go's control socket is named after its interface, machine-wide: one name per daemon.
                ["wireGuardInterface"] = WireGuardName(i, ns) },
        };
        foreach (var (k, v) in config ?? []) settings[k] = v;
        foreach (var (k, v) in own?.Config ?? []) settings[k] = v;
        var daemon = new DaemonProcess(settings, ns.Name);
        foreach (var (k, v) in own?.Environment ?? []) daemon.Environment[k] = v;
        await daemon.StartAsync();
        Hosts.Add(new Host($"host{i}", ns, daemon, address, outside));
    }

    private static string WireGuardName(int i, NetNamespace ns) => $"wg{i}{ns.Name[^6..]}";

    /// <summary>Sets one host's cable's MTU, both ends (the switch's bridge follows its smallest port).</summary>
    public async Task SetMtuAsync(Host host, int mtu)
    {
        await host.Namespace.RunAsync("ip", "link", "set", host.Interface, "mtu", mtu.ToString());
        await _switch.RunAsync("ip", "link", "set", host.SwitchLink, "mtu", mtu.ToString());
    }

    /// <summary>Cuts or restores one host's cable at the switch.</summary>
    public Task SetLinkAsync(Host host, bool up) => _switch.RunAsync("ip", "link", "set", host.SwitchLink, up ? "up" : "down");

    /// <summary>Limits what one host's cable carries towards it (tc tbf at the switch side), e.g. "200mbit".</summary>
    public Task LimitAsync(Host host, string rate) =>
        _switch.RunAsync("tc", "qdisc", "replace", "dev", host.SwitchLink, "root", "tbf", "rate", rate, "burst", "256kb", "latency", "50ms");

    /// <summary>
    /// Limits what one host sends into its cable (tc tbf on the host's own end, e.g. "400mbit"), so a
    /// sender's rate is capped with the backpressure a real slow uplink gives; null lifts the limit.
    /// (LimitAsync limits the other way: what the switch sends towards the host.)
    /// </summary>
    public static Task LimitSendingAsync(Host host, string? rate) => rate is null
        ? host.Namespace.RunAsync("tc", "qdisc", "del", "dev", host.Interface, "root")
        : host.Namespace.RunAsync("tc", "qdisc", "replace", "dev", host.Interface, "root", "tbf", "rate", rate, "burst", "256kb", "latency", "50ms");

    /// <summary>Lifts a limit LimitAsync set.</summary>
    public Task UnlimitAsync(Host host) => _switch.RunAsync("tc", "qdisc", "del", "dev", host.SwitchLink, "root");

    /// <summary>Bytes this host's own end of its cable has received (its interface's rx_bytes, read inside its namespace).</summary>
    public static Task<long> ReceivedBytesAsync(Host host) => CounterAsync(host, "rx_bytes");

    /// <summary>Bytes this host has sent on its cable (tx_bytes inside its namespace).</summary>
    public static Task<long> SentBytesAsync(Host host) => CounterAsync(host, "tx_bytes");

    private static async Task<long> CounterAsync(Host host, string counter)
    {
        var result = await Processes.RunAsync("ip", ["netns", "exec", host.Namespace.Name, "cat", $"/sys/class/net/{host.Interface}/statistics/{counter}"]);
        return result.ExitCode == 0 ? long.Parse(result.Stdout.Trim()) : throw new InvalidOperationException($"cannot read {counter} of {host.Name}: {result.Stderr}");
    }

    /// <summary>Makes a and b peers the way an operator would: a token from b, redeemed on a.</summary>
    public static async Task JoinAsync(Host a, Host b)
    {
        var token = await b.Client.CreatePeerTokenAsync(null);
        await a.Client.AddPeerAsync(new AddPeerRequest(b.Name, token.Token));
    }

    /// <summary>Every host a peer of every other.</summary>
    public async Task JoinAllAsync()
    {
        for (int i = 0; i < Hosts.Count; i++)
            for (int j = i + 1; j < Hosts.Count; j++)
                await JoinAsync(Hosts[i], Hosts[j]);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in Hosts) await host.Daemon.DisposeAsync();
        // wireguard-go outlives its daemon (as dnsmasq does) and its namespace: deleting its interface ends it.
        foreach (var host in Hosts) await Processes.RunAsync("ip", ["-n", host.Namespace.Name, "link", "del", host.WireGuardInterface]);
        foreach (var ns in _namespaces) await ns.DisposeAsync();
        await _switch.DisposeAsync();
    }
}
