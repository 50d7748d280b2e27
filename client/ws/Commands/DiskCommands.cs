using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

/// <summary>ws disk add|list|rm: a workspace's data disks, hot-plugged while it runs.</summary>
public static class DiskCommands
{
    public static void Add(RootCommand root)
    {
        var disk = new Command("disk", "a workspace's data disks: blank or on an image, hot-plugged while it runs");
        var workspace = new Argument<string>("name") { Description = "the workspace" };
        var name = new Argument<string>("disk") { Description = "the disk's name (1-20 lowercase letters, digits, hyphens); the guest sees it as the serial" };

        var size = new Option<string?>("--size") { Description = "a blank disk of this size: bytes, or with K, M, G, T (e.g. 10G)" };
        var image = new Option<string?>("--image") { Description = "an overlay of this image's disk instead (copy-on-write; the image stays as it is)" };
        var add = new Command("add", "add a data disk; a running workspace gets it at once, a stopped one at its next start") { workspace, name, size, image };
        add.Run(async (client, parse, ct) =>
        {
            var d = await client.AddDiskAsync(parse.GetValue(workspace)!, new AddDiskRequest(parse.GetValue(name)!, parse.GetValue(size), parse.GetValue(image)), ct);
            if (Output.Json(parse)) Output.WriteJson(d, WorkspacesJson.Default.DataDiskInfo);
            else Console.Out.WriteLine($"Added disk {d.Name} ({Output.Size(d.SizeBytes)}{(d.Image is null ? "" : $" on {d.Image}")}) to {parse.GetValue(workspace)}"
                + (d.Attached ? $", attached as {d.GuestDevice}" : ", attached at its next start"));
        });
        disk.Subcommands.Add(add);

        var list = new Command("list", "list a workspace's data disks") { workspace };
        list.Aliases.Add("ls");
        list.Run(async (client, parse, ct) =>
        {
            var all = await client.ListDisksAsync(parse.GetValue(workspace)!, ct);
            if (Output.Json(parse)) { Output.WriteJson(all, WorkspacesJson.Default.DataDiskInfoArray); return; }
            Output.Table(["name", "size", "kind", "attached", "guest device"],
                all.Select(d => new[]
                {
                    d.Name, Output.Size(d.SizeBytes), (d.Image is null ? d.Kind : $"{d.Kind} {d.Image}") + (d.Sealed ? ", sealed" : ""),
                    d.Attached ? "yes" : "no", d.GuestDevice ?? "-",
                }));
        });
        disk.Subcommands.Add(list);

        var rm = new Command("rm", "remove a data disk and its content; a running guest must release it first (unmount it)") { workspace, name };
        rm.Aliases.Add("delete");
        rm.Run(async (client, parse, ct) => await client.RemoveDiskAsync(parse.GetValue(workspace)!, parse.GetValue(name)!, ct));
        disk.Subcommands.Add(rm);
        root.Subcommands.Add(disk);
    }
}
