using System.CommandLine;
using Spectre.Console;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

public static class ImageCommands
{
    public static void Add(RootCommand root)
    {
        var image = new Command("image", "manage the image cache");

        var name = new Argument<string>("name") { Description = "the image's name" };
        var disk = new Option<FileInfo?>("--disk") { Description = "a qcow2 or raw disk" };
        var kernel = new Option<FileInfo?>("--kernel") { Description = "a Linux kernel (bzImage) to boot directly" };
        var initrd = new Option<FileInfo?>("--initrd") { Description = "its initramfs" };
        var cmdline = new Option<string?>("--cmdline") { Description = "its kernel command line" };
        var import = new Command("import", "import a disk image or a kernel+initrd boot set (streamed and hashed)") { name, disk, kernel, initrd, cmdline };
        import.Run(async (client, parse, ct) =>
        {
            var upload = new ImageUpload(parse.GetValue(name)!, Existing(parse.GetValue(disk)), Existing(parse.GetValue(kernel)),
                Existing(parse.GetValue(initrd)), parse.GetValue(cmdline));
            long total = new[] { upload.DiskPath, upload.KernelPath, upload.InitrdPath }.OfType<string>().Sum(p => new FileInfo(p).Length);
            ImageInfo result;
            if (!Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive)
            {
                result = await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn())
                    .StartAsync(async p =>
                    {
                        var task = p.AddTask($"import {upload.Name}", maxValue: Math.Max(total, 1));
                        var progress = new Progress<long>(sent => task.Value = sent);
                        return await client.ImportImageAsync(upload, progress, ct);
                    });
            }
            else
            {
                result = await client.ImportImageAsync(upload, null, ct);
            }
            if (Output.Json(parse)) Output.WriteJson(result, WorkspacesJson.Default.ImageInfo);
            else Console.Out.WriteLine($"Imported {result.Name} ({Output.Short(result.Id)}, {Output.Size(result.Size)})");
        });
        image.Subcommands.Add(import);

        var list = new Command("list", "list cached images");
        list.Aliases.Add("ls");
        list.Run(async (client, parse, ct) =>
        {
            var images = await client.ListImagesAsync(ct);
            if (Output.Json(parse)) { Output.WriteJson(images, WorkspacesJson.Default.ImageInfoArray); return; }
            Output.Table(["name", "fingerprint", "kind", "disk", "size", "created"],
                images.Select(i => new[] { i.Name, Output.Short(i.Id), i.Kind, i.DiskFormat ?? "-", Output.Size(i.Size), Output.Age(i.CreatedAt) }));
        });
        image.Subcommands.Add(list);

        var reference = new Argument<string>("image") { Description = "name or fingerprint" };
        var show = new Command("show", "show one image") { reference };
        show.Run(async (client, parse, ct) =>
        {
            var i = await client.GetImageAsync(parse.GetValue(reference)!, ct);
            if (Output.Json(parse)) { Output.WriteJson(i, WorkspacesJson.Default.ImageInfo); return; }
            Output.Fields(("Name", i.Name), ("Fingerprint", i.Id), ("Kind", i.Kind), ("Disk", i.Disk), ("Disk format", i.DiskFormat),
                ("Virtual size", i.DiskVirtualSize is { } v ? Output.Size(v) : null), ("Kernel", i.Kernel), ("Initrd", i.Initrd),
                ("Cmdline", i.Cmdline), ("Size", Output.Size(i.Size)), ("Created", i.CreatedAt.ToString("u")));
        });
        image.Subcommands.Add(show);

        var rm = new Command("rm", "remove an image that no workspace uses") { reference };
        rm.Aliases.Add("delete");
        rm.Run(async (client, parse, ct) => await client.DeleteImageAsync(parse.GetValue(reference)!, ct));
        image.Subcommands.Add(rm);

        root.Subcommands.Add(image);
    }

    private static string? Existing(FileInfo? file) =>
        file is null ? null : file.Exists ? file.FullName : throw new IOException($"{file.FullName}: no such file");
}
