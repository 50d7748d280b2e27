using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

/// <summary>The Factory on workspaces: checkin (a workspace's disk becomes an image) and copy.</summary>
public static class FactoryCommands
{
    public static void Add(RootCommand root)
    {
        var name = new Argument<string>("name") { Description = "a stopped (or never started) workspace" };
        var image = new Option<string>("--as") { Description = "the new image's name", Required = true };
        var encrypt = new Option<bool>("--encrypt") { Description = "seal the new image (a sealed lineage stays sealed anyway)" };
        var tags = ImageCommands.TagOption();
        var checkin = new Command("checkin", "turn a stopped workspace's disk into a new image (a delta on its image), signed by this host")
            { name, image, encrypt, tags };
        checkin.Run(async (client, parse, ct) =>
        {
            var made = await client.CheckinAsync(parse.GetValue(name)!, new CheckinRequest(parse.GetValue(image)!, parse.GetValue(encrypt), parse.GetValue(tags)), ct);
            if (Output.Json(parse)) Output.WriteJson(made, WorkspacesJson.Default.ImageInfo);
            else Console.Out.WriteLine($"Checked in {parse.GetValue(name)} as {made.Name} ({Output.Short(made.Id)}, {Output.Size(made.Size)}, on {Output.Short(made.Parent)})");
        });
        root.Subcommands.Add(checkin);

        var running = new Argument<string>("name") { Description = "a running (or paused) workspace: booted, its job warm" };
        var template = new Option<string>("--as") { Description = "the template's name", Required = true };
        var snapshot = new Command("snapshot",
            "turn a running workspace's disk and RAM into a template image, signed by this host; ws launch TEMPLATE NEW restores clones of it "
            + "(the workspace is paused while its RAM is saved, then runs on)") { running, template, tags };
        snapshot.Run(async (client, parse, ct) =>
        {
            var made = await client.SnapshotAsync(parse.GetValue(running)!, new SnapshotRequest(parse.GetValue(template)!, parse.GetValue(tags)), ct);
            if (Output.Json(parse)) Output.WriteJson(made, WorkspacesJson.Default.ImageInfo);
            else Console.Out.WriteLine($"Snapshot of {parse.GetValue(running)} is template {made.Name} ({Output.Short(made.Id)}, "
                + $"{Output.Size(made.Size)} with the RAM of a {made.State?.MemoryMiB} MiB guest, on {Output.Short(made.Parent)})");
        });
        root.Subcommands.Add(snapshot);

        var newName = new Argument<string>("newname") { Description = "the copy's name" };
        var copy = new Command("copy", "copy a stopped workspace: its disk and spec, under a new name and identity") { name, newName };
        // No "cp" alias any more: ws cp copies files into and out of a running workspace (GuestCommands).
        copy.Run(async (client, parse, ct) =>
        {
            var w = await client.CopyWorkspaceAsync(parse.GetValue(name)!, parse.GetValue(newName)!, ct);
            if (Output.Json(parse)) Output.WriteJson(w, WorkspacesJson.Default.WorkspaceInfo);
            else Console.Out.WriteLine($"Copied {parse.GetValue(name)} to {w.Name} ({w.Id})");
        });
        root.Subcommands.Add(copy);
    }
}
