using System.CommandLine;
using System.Globalization;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

/// <summary>ws peer: the hosts this one federates with (after Incus remotes and trust tokens).</summary>
public static class PeerCommands
{
    public static void Add(RootCommand root)
    {
        var peer = new Command("peer", "the hosts this one shares images and workspaces with");

        var expires = new Option<string?>("--expires") { Description = "how long the token works: 90s, 30m, 1h, 2d (default 1h)" };
        var token = new Command("token", "print a single-use token another host redeems with `ws peer add NAME TOKEN`") { expires };
        token.Run(async (client, parse, ct) =>
        {
            var made = await client.CreatePeerTokenAsync(parse.GetValue(expires) is { } e ? Duration(e) : null, ct);
            if (Output.Json(parse)) { Output.WriteJson(made, WorkspacesJson.Default.PeerTokenInfo); return; }
            Console.Out.WriteLine($"A token for {string.Join(", ", made.Addresses)} ({made.Fingerprint}), single use, until {made.ExpiresAt:u}:");
            Console.Out.WriteLine(made.Token);
        });
        peer.Subcommands.Add(token);

        var name = new Argument<string>("name") { Description = "what this host calls the peer" };
        var target = new Argument<string>("token-or-address") { Description = "a token from `ws peer token` on the other host, or its ADDRESS:PORT with --fingerprint" };
        var fingerprint = new Option<string?>("--fingerprint") { Description = "pin the peer's certificate by hand (SHA256:..., as its `ws host` shows); it must add this host too" };
        var add = new Command("add", "make another host a peer: redeem its token, or pin its address and fingerprint") { name, target, fingerprint };
        add.Run(async (client, parse, ct) =>
        {
            string value = parse.GetValue(target)!;
            var request = parse.GetValue(fingerprint) is { } pin
                ? new AddPeerRequest(parse.GetValue(name)!, Address: value, Fingerprint: pin)
                : new AddPeerRequest(parse.GetValue(name)!, Token: value);
            var added = await client.AddPeerAsync(request, ct);
            if (Output.Json(parse)) Output.WriteJson(added, WorkspacesJson.Default.PeerInfo);
            else Console.Out.WriteLine($"Added peer {added.Name} at {added.Address} ({added.Fingerprint}){(added.Reachable ? "" : $"; not reachable yet: {added.Error}")}");
        });
        peer.Subcommands.Add(add);

        var list = new Command("list", "list peers, each checked now");
        list.Aliases.Add("ls");
        list.Run(async (client, parse, ct) =>
        {
            var peers = await client.ListPeersAsync(ct);
            if (Output.Json(parse)) { Output.WriteJson(peers, WorkspacesJson.Default.PeerInfoArray); return; }
            Output.Table(["name", "address", "fingerprint", "state", "since", "free", "images", "rtt"],
                peers.Select(p => new[]
                {
                    p.Name, p.Address, Short(p.Fingerprint), p.Reachable ? "reachable" : "UNREACHABLE",
                    p.Since is { } s ? Output.Age(s) : "-",
                    p.FreeVcpus is { } v ? $"{v} vCPUs, {p.FreeMemoryMiB} MiB" : "-",
                    p.Images?.ToString(CultureInfo.InvariantCulture) ?? "-",
                    p.RoundTripMs is { } r ? $"{r:0.0} ms" : "-",
                }));
        });
        peer.Subcommands.Add(list);

        var show = new Command("show", "show one peer, checked now") { name };
        show.Run(async (client, parse, ct) =>
        {
            var p = await client.GetPeerAsync(parse.GetValue(name)!, ct);
            if (Output.Json(parse)) { Output.WriteJson(p, WorkspacesJson.Default.PeerInfo); return; }
            Output.Fields(("Name", p.Name), ("Address", p.Address), ("Fingerprint", p.Fingerprint),
                ("Signing key", p.SigningKey ?? "not learnt yet"), ("Sealing key", p.SealingKey ?? "not learnt yet"),
                ("Added", p.AddedAt.ToString("u", CultureInfo.InvariantCulture)),
                ("State", p.Reachable ? $"reachable since {p.Since:u}" : $"UNREACHABLE{(p.Since is { } s ? $" since {s:u}" : "")}"),
                ("Why", p.Error), ("Round trip", p.RoundTripMs is { } r ? $"{r:0.0} ms" : null),
                ("Free", p.FreeVcpus is { } v ? $"{v} vCPUs, {p.FreeMemoryMiB} MiB" : null), ("Images", p.Images));
        });
        peer.Subcommands.Add(show);

        var rm = new Command("rm", "stop trusting a peer: its next call is refused") { name };
        rm.Aliases.Add("remove");
        rm.Run(async (client, parse, ct) => await client.RemovePeerAsync(parse.GetValue(name)!, ct));
        peer.Subcommands.Add(rm);

        root.Subcommands.Add(peer);
    }

    private static string Short(string fingerprint) => fingerprint.Length > 23 ? fingerprint[..23] + "…" : fingerprint;

    /// <summary>"90s", "30m", "1h", "2d": a number and a unit.</summary>
    private static TimeSpan Duration(string text)
    {
        if (text.Length >= 2 && double.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n) && n > 0)
            switch (text[^1])
            {
                case 's': return TimeSpan.FromSeconds(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'd': return TimeSpan.FromDays(n);
            }
        throw new ArgumentException($"'{text}' is not a duration: write a number and s, m, h or d (e.g. 1h)");
    }
}
