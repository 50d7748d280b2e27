using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

/// <summary>ws place: where a workspace of an image should run, by image proximity; and the choice `ws launch --on|--anywhere` makes.</summary>
public static class PlaceCommands
{
    public static void Add(RootCommand root)
    {
        var image = new Argument<string>("image") { Description = "the image (name or fingerprint), here or on a peer" };
        var vcpus = new Option<int?>("--vcpus") { Description = "virtual CPUs (default: each host's default)" };
        var memory = new Option<int?>("--memory") { Description = "memory in MiB (default: each host's default)" };
        var place = new Command("place", "rank this host and its peers for a workspace of IMAGE: admission first, then chain bytes held, then free capacity")
            { image, vcpus, memory };
        place.Run(async (client, parse, ct) =>
        {
            var report = await client.PlaceAsync(parse.GetValue(image)!, parse.GetValue(vcpus), parse.GetValue(memory), ct);
            if (Output.Json(parse)) { Output.WriteJson(report, WorkspacesJson.Default.PlacementReport); return; }
            Console.Out.WriteLine($"{report.ImageName} ({Output.Short(report.Image)}), chain {Output.Size(report.ChainBytes)}"
                + (report.Shape is { } s ? $", {s.Vcpus} vCPUs and {s.MemoryMiB} MiB:" : ":"));
            Output.Table(["rank", "host", "score", "held", "free", "reason"], report.Candidates.Select(c => new[]
            {
                c.Rank.ToString(), c.Local ? c.Host + " (here)" : c.Host, c.Score?.ToString() ?? "-",
                c.Reachable ? $"{Output.Size(c.HeldBytes)} / {Output.Size(c.ChainBytes)}" : "-",
                c.FreeVcpus is { } v ? $"{v} vCPUs, {c.FreeMemoryMiB} MiB" : "-",
                c.Reason,
            }));
        });
        root.Subcommands.Add(place);
    }

    /// <summary>
    /// Where `ws launch` goes: --on PEER, or --anywhere (the top of `ws place`, which must admit the
    /// shape), or here. Returns the client to launch with (through the proxy for a peer) and, when it
    /// chose, what to tell the user.
    /// </summary>
    public static async Task<(WorkspacesClient Target, string? Said)> TargetAsync(WorkspacesClient client, string image, string? on, bool anywhere,
        int? vcpus, int? memoryMiB, CancellationToken ct)
    {
        if ((on is not null || anywhere) && client.Peer is not null)
            throw new ArgumentException("--on and --anywhere choose the host themselves: leave out --peer");
        if (on is not null && anywhere) throw new ArgumentException("give --on PEER or --anywhere, not both");
        if (on is not null) return (client.ForPeer(on), null);
        if (!anywhere) return (client, null);
        var report = await client.PlaceAsync(image, vcpus, memoryMiB, ct);
        var top = report.Candidates.FirstOrDefault(c => c.Admits)
            ?? throw new ApiException(new Problem("about:blank", "No host", 409,
                "no host can take it: " + string.Join("; ", report.Candidates.Select(c => $"{c.Host}: {c.Reason}"))));
        return (client.ForPeer(top.Local ? null : top.Host), $"Placed on {top.Host}{(top.Local ? " (this host)" : "")}: {top.Reason} (score {top.Score})");
    }
}
