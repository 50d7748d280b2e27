using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

public static class NetworkCommands
{
    public static void Add(RootCommand root)
    {
        var network = new Command("network", "workspace networks: bridges, addresses and traffic policy");
        var name = new Argument<string>("name") { Description = "the network's name (up to 10 characters)" };

        var subnet = new Option<string>("--subnet") { Description = "IPv4 subnet in CIDR form; the gateway is its first address", Required = true };
        var nat = new Option<bool>("--nat") { Description = "masquerade traffic leaving the host" };
        var isolated = new Option<bool>("--isolated") { Description = "no traffic beyond the bridge" };
        var isolateOwners = new Option<bool>("--isolate-owners") { Description = "workspaces of different owners cannot reach each other" };
        var egress = new Option<string?>("--egress") { Description = "default egress allowlist for its workspaces: CIDR[:PORT,...] entries" };
        var vni = new Option<int?>("--vni") { Description = "span hosts: the VXLAN id, the same on every member host (with --span)" };
        var span = new Option<string?>("--span") { Description = "span hosts: the peers this network reaches, PEER[,PEER] (make it on each with the same --vni and --subnet)" };
        var mtu = new Option<int?>("--mtu") { Description = "span hosts: the span's one MTU, the same on every member host (default: the smallest underlay among them less 130)" };
        var create = new Command("create", "make a network") { name, subnet, nat, isolated, isolateOwners, egress, vni, span, mtu };
        create.Run(async (client, parse, ct) =>
        {
            var n = await client.CreateNetworkAsync(new CreateNetworkRequest(parse.GetValue(name)!, parse.GetValue(subnet)!, parse.GetValue(nat),
                parse.GetValue(isolated), parse.GetValue(isolateOwners), parse.GetValue(egress),
                parse.GetValue(vni), parse.GetValue(span)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), parse.GetValue(mtu)), ct);
            if (Output.Json(parse)) Output.WriteJson(n, WorkspacesJson.Default.NetworkInfo);
            else Console.Out.WriteLine($"Created network {n.Name} ({n.Subnet} on {n.Bridge}, gateway {n.Gateway})");
        });
        network.Subcommands.Add(create);

        var list = new Command("list", "list networks");
        list.Aliases.Add("ls");
        list.Run(async (client, parse, ct) =>
        {
            var all = await client.ListNetworksAsync(ct);
            if (Output.Json(parse)) { Output.WriteJson(all, WorkspacesJson.Default.NetworkInfoArray); return; }
            Output.Table(["name", "subnet", "bridge", "gateway", "mode"],
                all.Select(n => new[] { n.Name, n.Subnet, n.Bridge, n.Gateway, n.Isolated ? "isolated" : n.Nat ? "nat" : "routed" }));
        });
        network.Subcommands.Add(list);

        var show = new Command("show", "show a network: its bridge, NICs, DHCP leases and rules") { name };
        show.Run(async (client, parse, ct) =>
        {
            var n = await client.GetNetworkAsync(parse.GetValue(name)!, ct);
            if (Output.Json(parse)) { Output.WriteJson(n, WorkspacesJson.Default.NetworkInfo); return; }
            Output.Fields(("Name", n.Name), ("Bridge", n.Bridge), ("Subnet", n.Subnet), ("Gateway", n.Gateway),
                ("Mode", n.Isolated ? "isolated" : n.Nat ? "nat" : "routed"), ("Owners isolated", n.IsolateOwners ? "yes" : "no"),
                ("Egress", n.Egress.Length == 0 ? "anything" : n.Egress),
                ("Spans", n.Vni is { } v ? $"VNI {v} to {string.Join(", ", n.Span ?? [])}, MTU {n.Mtu}" : "this host only"),
                ("NICs", string.Join("\n", (n.Nics ?? []).Select(c => $"{c.Workspace}: {c.Address ?? "-"} {c.Mac} ({c.Tap})"))),
                ("Leases", string.Join("\n", n.Leases ?? [])), ("Rules", string.Join("\n", n.Rules ?? [])));
        });
        network.Subcommands.Add(show);

        var rm = new Command("rm", "remove a network no workspace is on") { name };
        rm.Aliases.Add("delete");
        rm.Run(async (client, parse, ct) => await client.DeleteNetworkAsync(parse.GetValue(name)!, ct));
        network.Subcommands.Add(rm);
        root.Subcommands.Add(network);

        var workspace = new Argument<string>("name") { Description = "the workspace" };
        var ports = new Argument<string>("ports") { Description = "HOSTPORT:GUESTPORT" };
        var udp = new Option<bool>("--udp") { Description = "forward UDP instead of TCP" };
        var expose = new Command("expose", "forward a port of the host to a port of a workspace") { workspace, ports, udp };
        expose.Run(async (client, parse, ct) =>
        {
            var parts = parse.GetValue(ports)!.Split(':');
            if (parts.Length != 2 || !int.TryParse(parts[0], out int hostPort) || !int.TryParse(parts[1], out int guestPort))
                throw new ArgumentException($"'{parse.GetValue(ports)}' is not HOSTPORT:GUESTPORT");
            var w = await client.ExposeAsync(parse.GetValue(workspace)!, new ExposeRequest(hostPort, guestPort, parse.GetValue(udp) ? "udp" : "tcp"), ct);
            Console.Out.WriteLine($"{w.Name}: {string.Join(", ", w.Nic?.Forwards ?? [])}");
        });
        root.Subcommands.Add(expose);
    }
}
