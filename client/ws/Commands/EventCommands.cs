using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

public static class EventCommands
{
    public static void Add(RootCommand root)
    {
        var events = new Command("events", "follow lifecycle and operation events (Ctrl-C to stop)");
        events.Run(async (client, parse, ct) =>
        {
            bool json = Output.Json(parse);
            await foreach (var e in client.StreamEventsAsync(ct))
            {
                if (json) { Output.WriteJson(e, WorkspacesJson.Default.EventInfo); continue; }
                string what = e.Operation is { } op
                    ? $"operation {op.Kind} {op.Target}: {op.Status}{(op.Error is null ? "" : " — " + op.Error)}"
                    : $"{e.Workspace ?? ""} {e.State ?? ""} {(e.Peer is { } peer ? $"[{peer}] " : "")}{e.Reason ?? ""}".Trim();
                Console.Out.WriteLine($"{e.Time.ToLocalTime():HH:mm:ss.fff} {e.Type,-18} {what}");
            }
        });
        root.Subcommands.Add(events);
    }
}
