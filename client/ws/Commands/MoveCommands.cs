using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

/// <summary>
/// ws move NAME PEER: move a workspace to a peer under a signed ticket the peer checks before anything
/// moves. The progress bar of the transfer comes with the transfer itself (not built yet): today the
/// command reports the peer's admission or its refusal, with a counter-offer when it made one.
/// --keep-source [--name NEW] makes a copy with a new identity on the peer instead; the source stays.
/// </summary>
public static class MoveCommands
{
    public static void Add(RootCommand root)
    {
        var name = new Argument<string>("name") { Description = "the workspace" };
        var peer = new Argument<string>("peer") { Description = "the peer to move it to (see ws peer list)" };
        var mode = new Option<string?>("--mode")
        {
            Description = "cold (stopped), stateful (RAM saved, moved, restored) or live; default: cold when stopped, stateful when running (live once its engine is merged)",
        };
        mode.AcceptOnlyFromAmong("cold", "stateful", "live");
        var keepSource = new Option<bool>("--keep-source") { Description = "make a copy with a new identity on the peer instead" };
        var copyName = new Option<string?>("--name") { Description = "with --keep-source: the copy's name on the peer (default: the same, if the peer has none)" };
        var recover = new Option<bool>("--recover") { Description = "resolve a move whose outcome is unknown (MigrationUnknown)" };
        var move = new Command("move", "move a workspace to a peer: signed ticket, checked by the peer before anything moves")
            { name, peer, mode, keepSource, copyName, recover };
        move.Run(async (client, parse, ct) =>
        {
            var accepted = await client.MoveAsync(parse.GetValue(name)!,
                new MoveRequest(parse.GetValue(peer)!, parse.GetValue(mode), parse.GetValue(keepSource), parse.GetValue(recover), parse.GetValue(copyName)), ct);
            if (Output.Json(parse)) { Output.WriteJson(accepted, WorkspacesJson.Default.PeerMigrationAccepted); return; }
            // The answer comes after Confirm: the workspace is on the peer only (or, copied, on both).
            if (parse.GetValue(keepSource))
                Console.Out.WriteLine($"copied {parse.GetValue(name)} to {parse.GetValue(peer)} as {parse.GetValue(copyName) ?? parse.GetValue(name)} (ticket {Output.Short(accepted.TicketHash)}, {accepted.Phase})");
            else Console.Out.WriteLine($"moved {parse.GetValue(name)} to {parse.GetValue(peer)} (ticket {Output.Short(accepted.TicketHash)}, {accepted.Phase})");
        });
        root.Subcommands.Add(move);
    }
}
