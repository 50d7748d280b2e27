using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

/// <summary>
/// ws move NAME PEER: move a workspace to a peer under a signed ticket the peer checks before anything
/// moves; a refusal says why (with a counter-offer when the peer made one). While the move runs, a progress
/// line on stderr (on a terminal, or with --progress) shows its phase, bytes, rate, dirty pages and expected downtime.
/// --keep-source [--name NEW] makes a copy with a new identity on the peer instead; the source stays (live, the default for a
/// running workspace: it keeps running). Sealed workspaces move and copy every way too: the key goes only inside the ticket.
/// </summary>
public static class MoveCommands
{
    public static void Add(RootCommand root)
    {
        var name = new Argument<string>("name") { Description = "the workspace" };
        var peer = new Argument<string>("peer") { Description = "the peer to move it to (see ws peer list)" };
        var mode = new Option<string?>("--mode")
        {
            Description = "cold (stopped), stateful (RAM saved, moved, restored) or live (runs on until the switch-over); "
                          + "default: cold when stopped, live when running or paused (a copy too, sealed or not)",
        };
        mode.AcceptOnlyFromAmong("cold", "stateful", "live");
        var keepSource = new Option<bool>("--keep-source")
        {
            Description = "make a copy with a new identity (id, name, MAC, address, VM generation id) on the peer instead; the source stays, and a live copy's keeps running",
        };
        var copyName = new Option<string?>("--name") { Description = "with --keep-source: the copy's name on the peer (default: the same, if the peer has none)" };
        var recover = new Option<bool>("--recover") { Description = "settle a half-done move of NAME now by asking the peer (MigrationUnknown)" };
        var keepHere = new Option<bool>("--keep-here")
        {
            Description = "with --recover, when the peer is gone for good: this host's copy becomes the only one (the source resumes it)",
        };
        var progress = new Option<bool>("--progress") { Description = "show the progress line on stderr even when it is not a terminal" };
        var move = new Command("move", "move a workspace to a peer: signed ticket, checked by the peer before anything moves")
            { name, peer, mode, keepSource, copyName, recover, keepHere, progress };
        move.Run(async (client, parse, ct) =>
        {
            if (parse.GetValue(keepHere) && !parse.GetValue(recover))
                throw new ArgumentException("--keep-here goes with --recover");
            if (parse.GetValue(recover))
            {
                var settled = await client.RecoverMoveAsync(parse.GetValue(name)!, new MoveRecoverRequest(parse.GetValue(keepHere)), ct);
                if (Output.Json(parse)) { Output.WriteJson(settled, WorkspacesJson.Default.PeerMigrationState); return; }
                Console.Out.WriteLine($"move of {parse.GetValue(name)} with {parse.GetValue(peer)} (ticket {Output.Short(settled.TicketHash)}): {settled.Outcome ?? "open"} at {settled.Phase}: {settled.Detail}");
                return;
            }
            var moving = client.MoveAsync(parse.GetValue(name)!,
                new MoveRequest(parse.GetValue(peer)!, parse.GetValue(mode), parse.GetValue(keepSource), parse.GetValue(recover), parse.GetValue(copyName)), ct);
            if (Spinner.Wanted || parse.GetValue(progress))
                await MoveProgressLine.FollowAsync(client, parse.GetValue(name)!, moving, terminal: Spinner.Wanted);
            var accepted = await moving;
            if (Output.Json(parse)) { Output.WriteJson(accepted, WorkspacesJson.Default.PeerMigrationAccepted); return; }
            // The answer comes after Confirm: the workspace is on the peer only (or, copied, on both).
            if (parse.GetValue(keepSource))
                Console.Out.WriteLine($"copied {parse.GetValue(name)} to {parse.GetValue(peer)} as {parse.GetValue(copyName) ?? parse.GetValue(name)} (ticket {Output.Short(accepted.TicketHash)}, {accepted.Phase})");
            else Console.Out.WriteLine($"moved {parse.GetValue(name)} to {parse.GetValue(peer)} (ticket {Output.Short(accepted.TicketHash)}, {accepted.Phase})");
        });
        root.Subcommands.Add(move);
    }
}
