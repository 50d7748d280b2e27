using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

/// <summary>
/// ws move NAME PEER: move a workspace to a peer under a signed ticket the peer checks before anything
/// moves. The progress bar of the transfer comes with the transfer itself (not built yet): today the
/// command reports the peer's admission or its refusal, with a counter-offer when it made one.
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
        var recover = new Option<bool>("--recover") { Description = "settle a half-done move of NAME now by asking the peer (MigrationUnknown)" };
        var keepHere = new Option<bool>("--keep-here")
        {
            Description = "with --recover, when the peer is gone for good: this host's copy becomes the only one (the source resumes it)",
        };
        var move = new Command("move", "move a workspace to a peer: signed ticket, checked by the peer before anything moves")
            { name, peer, mode, keepSource, recover, keepHere };
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
            var accepted = await client.MoveAsync(parse.GetValue(name)!,
                new MoveRequest(parse.GetValue(peer)!, parse.GetValue(mode), parse.GetValue(keepSource), parse.GetValue(recover)), ct);
            if (Output.Json(parse)) { Output.WriteJson(accepted, WorkspacesJson.Default.PeerMigrationAccepted); return; }
            // The answer comes after Confirm: the workspace is on the peer only.
            Console.Out.WriteLine($"moved {parse.GetValue(name)} to {parse.GetValue(peer)} (ticket {Output.Short(accepted.TicketHash)}, {accepted.Phase})");
        });
        root.Subcommands.Add(move);
    }
}
