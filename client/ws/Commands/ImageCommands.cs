using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

public static class ImageCommands
{
    public static void Add(RootCommand root)
    {
        var image = new Command("image", "manage the image cache");

        var name = new Argument<string>("name") { Description = "the image's name; or, alone, an archive made by `ws image export`" };
        var disk = new Option<FileInfo?>("--disk") { Description = "a qcow2 or raw disk" };
        var kernel = new Option<FileInfo?>("--kernel") { Description = "a Linux kernel (bzImage) to boot directly" };
        var initrd = new Option<FileInfo?>("--initrd") { Description = "its initramfs" };
        var cmdline = new Option<string?>("--cmdline") { Description = "its kernel command line" };
        var encrypt = new Option<bool>("--encrypt") { Description = "seal the disk: LUKS-encrypted, its key sealed to this host" };
        var tags = TagOption();
        var import = new Command("import", "import a disk image or a kernel+initrd boot set (streamed and hashed), or an exported archive")
            { name, disk, kernel, initrd, cmdline, encrypt, tags };
        import.Run(async (client, parse, ct) =>
        {
            if (parse.GetValue(disk) is null && parse.GetValue(kernel) is null && parse.GetValue(initrd) is null)
            {
                if (parse.GetValue(encrypt) || parse.GetValue(cmdline) is not null || parse.GetValue(tags) is { Length: > 0 })
                    throw new ArgumentException("an archive import takes no --encrypt, --cmdline or --tag: the archive says what the image is");
                var archive = Existing(new FileInfo(parse.GetValue(name)!))!;
                var imported = await client.ImportArchiveAsync(archive, null, ct);
                if (Output.Json(parse)) Output.WriteJson(imported, WorkspacesJson.Default.ImageInfo);
                else Console.Out.WriteLine($"Imported {imported.Name} ({Output.Short(imported.Id)}) and its chain from {archive}");
                return;
            }
            var upload = new ImageUpload(parse.GetValue(name)!, Existing(parse.GetValue(disk)), Existing(parse.GetValue(kernel)),
                Existing(parse.GetValue(initrd)), parse.GetValue(cmdline), parse.GetValue(encrypt), parse.GetValue(tags));
            // The files are on this host: the daemon reads them through our open descriptors, no upload.
            var result = await client.ImportLocalImageAsync(upload, ct);
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
            // name, fingerprint, kind, disk, size, created: the parent and seal show in `ws image show`.
        });
        image.Subcommands.Add(list);

        var reference = new Argument<string>("image") { Description = "name or fingerprint" };
        var show = new Command("show", "show one image: its parts, provenance, chain and signatures") { reference };
        show.Run(async (client, parse, ct) =>
        {
            var i = await client.GetImageAsync(parse.GetValue(reference)!, ct);
            var m = await client.GetManifestAsync(i.Id, ct);
            if (Output.Json(parse)) { Output.WriteJson(m, WorkspacesJson.Default.ImageManifestInfo); return; }
            Output.Fields(("Name", i.Name), ("Fingerprint", i.Id), ("Kind", i.Kind), ("Tags", i.Tags is { Length: > 0 } t ? string.Join(' ', t) : null),
                ("Disk", i.Disk), ("Disk format", i.DiskFormat),
                ("Virtual size", i.DiskVirtualSize is { } v ? Output.Size(v) : null), ("Kernel", i.Kernel), ("Initrd", i.Initrd),
                ("Cmdline", i.Cmdline), ("Size", Output.Size(i.Size)), ("Created", i.CreatedAt.ToString("u")),
                ("Sealed", i.Encrypted ? "yes (LUKS; key sealed to host keys)" : "no"),
                ("Origin", i.OriginWorkspace is null ? null : $"workspace {i.OriginWorkspace} on {i.OriginHost}"),
                ("Chain", string.Join(" <- ", m.Chain.Select(c => $"{c.Name} ({Output.Short(c.Id)}{(c.Encrypted ? ", sealed" : "")})"))),
                ("Signatures", m.Signatures.Length == 0 ? "none" : string.Join("; ", m.Signatures.Select(Describe))));
        });
        image.Subcommands.Add(show);

        var manifest = new Command("manifest", "print the canonical manifest: the exact bytes signatures cover") { reference };
        manifest.Run(async (client, parse, ct) => Console.Out.Write((await client.GetManifestAsync(parse.GetValue(reference)!, ct)).Manifest));
        image.Subcommands.Add(manifest);

        var keyFile = new Option<FileInfo?>("--key") { Description = "sign with this PEM Ed25519 private key (openssl genpkey -algorithm ed25519) instead of the host's" };
        var detached = new Option<string?>("--signature") { Description = "add a signature made elsewhere over `ws image manifest` (base64, or a file holding it)" };
        var signer = new Option<string?>("--signer") { Description = "with --signature: the signer's public key (ed25519:BASE64 or a PEM file)" };
        var sign = new Command("sign", "sign an image's manifest (with the host key unless --key or --signature)") { reference, keyFile, detached, signer };
        sign.Run(async (client, parse, ct) =>
        {
            string? pem = parse.GetValue(keyFile) is { } f ? await File.ReadAllTextAsync(Existing(f)!, ct) : null;
            string? Text(string? value) => value is not null && File.Exists(value) ? File.ReadAllText(value) : value;
            var request = new SignImageRequest(pem, Text(parse.GetValue(signer)), Text(parse.GetValue(detached)));
            var signature = await client.SignImageAsync(parse.GetValue(reference)!, request, ct);
            if (Output.Json(parse)) Output.WriteJson(signature, WorkspacesJson.Default.SignatureInfo);
            else Console.Out.WriteLine($"Signed {parse.GetValue(reference)} by {Describe(signature)}");
        });
        image.Subcommands.Add(sign);

        var optionalReference = new Argument<string?>("image") { Description = "name or fingerprint", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "verify every image in the cache" };
        var verify = new Command("verify", "re-hash an image's chain, check its signatures and the site policy") { optionalReference, all };
        verify.Run(async (client, parse, ct) =>
        {
            string? one = parse.GetValue(optionalReference);
            if ((one is null) == !parse.GetValue(all)) throw new ArgumentException("name one image, or give --all");
            var reports = one is null ? await client.VerifyAllImagesAsync(ct) : [await client.VerifyImageAsync(one, ct)];
            if (Output.Json(parse)) Output.WriteJson(reports, WorkspacesJson.Default.VerifyReportArray);
            else
                foreach (var r in reports)
                {
                    Console.Out.WriteLine($"{r.Image} ({Output.Short(r.Id)}): {(r.Intact ? "intact" : "DAMAGED")}, " +
                                          $"{(r.Signatures.Length == 0 ? "unsigned" : string.Join("; ", r.Signatures.Select(Describe)))}, " +
                                          $"{(r.Admitted ? "admitted by policy" : "refused by policy")}");
                    foreach (var p in r.Problems) Console.Out.WriteLine($"  {p}");
                }
            if (reports.Count(r => !r.Intact) is > 0 and var damaged)
                throw new IOException($"{damaged} of {reports.Length} image(s) failed verification");
        });
        image.Subcommands.Add(verify);

        var newName = new Option<string>("--as") { Description = "the new image's name", Required = true };
        var flatten = new Command("flatten", "make a standalone copy of an image, its chain merged") { reference, newName, tags };
        flatten.Run(async (client, parse, ct) =>
        {
            var made = await client.FlattenImageAsync(parse.GetValue(reference)!, new FlattenRequest(parse.GetValue(newName)!, parse.GetValue(tags)), ct);
            if (Output.Json(parse)) Output.WriteJson(made, WorkspacesJson.Default.ImageInfo);
            else Console.Out.WriteLine($"Flattened {parse.GetValue(reference)} into {made.Name} ({Output.Short(made.Id)}, {Output.Size(made.Size)})");
        });
        image.Subcommands.Add(flatten);

        var file = new Argument<FileInfo>("file") { Description = "the archive to write" };
        var export = new Command("export", "write an image, its parent chain and manifests to one archive") { reference, file };
        export.Run(async (client, parse, ct) =>
        {
            await client.ExportImageAsync(parse.GetValue(reference)!, parse.GetValue(file)!.FullName, ct);
            Console.Out.WriteLine($"Exported {parse.GetValue(reference)} to {parse.GetValue(file)!.FullName} ({Output.Size(parse.GetValue(file)!.Length)})");
        });
        image.Subcommands.Add(export);

        var to = new Option<string>("--to") { Description = "the other host's sealing key (x25519:..., as its `ws host` shows)", Required = true };
        var reseal = new Command("reseal", "seal a sealed image's key also to another host, so it can start there") { reference, to };
        reseal.Run(async (client, parse, ct) =>
        {
            var result = await client.ResealImageAsync(parse.GetValue(reference)!, parse.GetValue(to)!, ct);
            if (Output.Json(parse)) Output.WriteJson(result, WorkspacesJson.Default.ResealResult);
            else Console.Out.WriteLine($"Sealed the key of {result.Image} also to {result.Fingerprint}; export the image again to carry it");
        });
        image.Subcommands.Add(reseal);

        var prune = new Command("prune", "remove images that no workspace, tag or delta image refers to");
        prune.Run(async (client, parse, ct) =>
        {
            var result = await client.PruneImagesAsync(ct);
            if (Output.Json(parse)) Output.WriteJson(result, WorkspacesJson.Default.PruneResult);
            else Console.Out.WriteLine(result.Removed.Length == 0 ? "Nothing to prune"
                : $"Removed {string.Join(", ", result.Removed)} ({Output.Size(result.FreedBytes)} freed)");
        });
        image.Subcommands.Add(prune);

        var from = new Option<string?>("--from") { Description = "pull from this peer only (default: every peer that holds the image's blobs, at once)" };
        var noWait = new Option<bool>("--no-wait") { Description = "return once the pull is accepted (follow it with `ws operation` or `ws events`)" };
        var pull = new Command("pull", "fetch an image and its chain from peers: only blobs not here travel, in pieces from every peer that has them")
            { reference, from, noWait };
        pull.Run(async (client, parse, ct) =>
        {
            string wanted = parse.GetValue(reference)!;
            var op = await client.StartPullAsync(new PullImageRequest(wanted, parse.GetValue(from)), ct);
            if (parse.GetValue(noWait))
            {
                if (Output.Json(parse)) Output.WriteJson(op, WorkspacesJson.Default.OperationInfo);
                else Console.Out.WriteLine($"Pulling {wanted}: operation {op.Id}");
                return;
            }
            var done = await ImagePulls.FollowAsync(client, op, $"Pulling {wanted}", ct);
            var pulled = await client.GetImageAsync(wanted, ct);
            if (Output.Json(parse)) Output.WriteJson(pulled, WorkspacesJson.Default.ImageInfo);
            else Console.Out.WriteLine(done.Detail ?? $"Pulled {pulled.Name} ({Output.Short(pulled.Id)})");
        });
        image.Subcommands.Add(pull);

        var rm = new Command("rm", "remove an image that no workspace uses") { reference };
        rm.Aliases.Add("delete");
        rm.Run(async (client, parse, ct) => await client.DeleteImageAsync(parse.GetValue(reference)!, ct));
        image.Subcommands.Add(rm);

        root.Subcommands.Add(image);
    }

    public static Option<string[]> TagOption() => new("--tag")
    {
        Description = "a tag (repeatable); a tagged image is never pruned",
        AllowMultipleArgumentsPerToken = false,
        DefaultValueFactory = _ => [],
    };

    public static string Describe(SignatureInfo s) =>
        $"{s.Fingerprint} ({(!s.Valid ? "INVALID" : s.TrustedAs is { } n ? $"trusted as {n}" : "valid, untrusted")})";

    private static string? Existing(FileInfo? file) =>
        file is null ? null : file.Exists ? file.FullName : throw new IOException($"{file.FullName}: no such file");
}
