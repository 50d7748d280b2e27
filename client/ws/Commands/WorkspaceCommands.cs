using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

public static class WorkspaceCommands
{
    private static readonly Argument<string> Name = new("name") { Description = "the workspace's name" };
    private static readonly Option<bool> NoWait = new("--no-wait") { Description = "return once the operation is accepted" };
    private static readonly Option<bool> AcceptOffer = new("--accept-offer") { Description = "if the host cannot grant the shape asked for, take its counter-offer" };
    private static readonly Option<int?> CpuQuota = new("--cpu-quota") { Description = "CPU quota in percent of one CPU (e.g. 50)" };
    private static readonly Option<int?> CpuWeight = new("--cpu-weight") { Description = "CPU weight, 1-10000 (100 is the default share)" };
    private static readonly Option<int?> TasksMax = new("--tasks-max") { Description = "most threads and processes the guest's QEMU may have" };
    private static readonly Option<int?> IoWeight = new("--io-weight") { Description = "I/O weight, 1-10000" };

    public static void Add(RootCommand root)
    {
        AddCreate(root);
        AddList(root);
        AddShow(root);
        AddAction(root, "start", "start a workspace", "Starting");
        AddAction(root, "pause", "pause a running workspace (its vCPUs stop; memory is kept)", "Pausing");
        AddAction(root, "resume", "resume a paused workspace", "Resuming");
        AddAction(root, "reboot", "reset a running workspace", "Rebooting");
        AddStop(root);
        AddSet(root);
        AddRemove(root);
        AddConsole(root);
    }

    private static void AddCreate(RootCommand root)
    {
        var vcpus = new Option<int?>("--vcpus") { Description = "virtual CPUs" };
        var memory = new Option<int?>("--memory") { Description = "memory in MiB" };
        var cmdline = new Option<string?>("--cmdline") { Description = "kernel command line (boot-set images)" };

        var network = new Option<string?>("--network")
        {
            // Without --network a workspace has no NIC (as with bare QEMU or Firecracker): networking is asked for.
            Description = "plug a NIC into this network; alone: \"default\", a NAT network an admin's first use makes (without --network: no NIC)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var egress = new Option<string?>("--egress") { Description = "egress allowlist: CIDR[:PORT,...] entries, space-separated (default: the network's)" };
        var rate = new Option<int?>("--rate-limit") { Description = "egress rate limit in kbit/s" };
        var userData = new Option<string?>("--user-data") { Description = "cloud-init user-data FILE (#cloud-config or a #! script), run at the guest's first boot" };
        var sshKey = new Option<string[]>("--ssh-key") { Description = "an ssh public key FILE for root's authorized_keys (repeatable)", AllowMultipleArgumentsPerToken = false };
        var cpu = new Option<string?>("--cpu") { Description = "the guest's named CPU model (default: the host's configured one, qemu64); \"host\" gives KVM's own CPU and makes it unmovable" };
        var secret = new Option<string[]>("--secret") { Description = "NAME=@FILE: a secret for the guest only, at /etc/workspaces/secrets/NAME (repeatable; never shown again)" };

        // create and launch take the same shape, IMAGE NAME (as incus init|launch IMAGE NAME). create's old
        // shape, NAME --image IMAGE, still works, with a hint on stderr: then its one argument is the name.
        var createImage = new Argument<string>("image") { Description = "the image to create it from" };
        var createName = new Argument<string?>("name") { Description = "the workspace's name", Arity = ArgumentArity.ZeroOrOne };
        var imageOption = new Option<string?>("--image") { Description = "deprecated: ws create IMAGE NAME", Hidden = true };
        var create = new Command("create", "define a workspace from an image: ws create IMAGE NAME (its disk is a fresh overlay)")
            { createImage, createName, imageOption, vcpus, memory, cmdline, CpuQuota, CpuWeight, TasksMax, IoWeight, AcceptOffer, network, egress, rate, userData, sshKey, secret, cpu };
        create.Validators.Add(result =>
        {
            bool old = result.GetResult(imageOption) is { Implicit: false };
            bool named = result.GetResult(createName) is { Tokens.Count: > 0 };
            if (!old && !named) result.AddError("ws create needs an image and a name: ws create IMAGE NAME");
            if (old && named) result.AddError("give the image once: ws create IMAGE NAME (--image is the old form, ws create NAME --image IMAGE)");
        });
        create.Run(async (client, parse, ct) =>
        {
            var (imageName, name) = parse.GetValue(imageOption) is { } old
                ? (old, parse.GetValue(createImage)!)
                : (parse.GetValue(createImage)!, parse.GetValue(createName)!);
            if (parse.GetResult(imageOption) is { Implicit: false })
                Console.Error.WriteLine($"ws: 'ws create NAME --image IMAGE' is deprecated; use 'ws create {imageName} {name}' (IMAGE NAME, as ws launch)");
            await ImagePulls.EnsureHereAsync(client, imageName, ct);
            var w = await client.CreateWorkspaceAsync(await RequestAsync(parse, imageName, name, ct), ct);
            Print(parse, w, $"Created {w.Name}");
        });
        root.Subcommands.Add(create);

        var imageArgument = new Argument<string>("image") { Description = "the image to launch" };
        var on = new Option<string?>("--on") { Description = "launch it on this peer (through the local daemon)" };
        var anywhere = new Option<bool>("--anywhere") { Description = "launch it where `ws place` ranks first (this host or a peer) and say where" };
        var launch = new Command("launch", "create a workspace and start it: ws launch IMAGE NAME")
            { imageArgument, Name, vcpus, memory, cmdline, CpuQuota, CpuWeight, TasksMax, IoWeight, AcceptOffer, NoWait, network, egress, rate, userData, sshKey, secret, cpu, on, anywhere };
        launch.Run(async (local, parse, ct) =>
        {
            string imageName = parse.GetValue(imageArgument)!;
            var (client, said) = await PlaceCommands.TargetAsync(local, imageName, parse.GetValue(on), parse.GetValue(anywhere),
                parse.GetValue(vcpus), parse.GetValue(memory), ct);
            using var owned = client == local ? null : client;
            if (said is not null && !Output.Json(parse)) Console.Out.WriteLine(said);
            await ImagePulls.EnsureHereAsync(client, imageName, ct); // on the target: a peer pulls what it lacks
            WorkspaceInfo w;
            try
            {
                w = await client.CreateWorkspaceAsync(await RequestAsync(parse, imageName, parse.GetValue(Name)!, ct), ct);
            }
            catch (ApiException e) when (e.Status == 404 && client.Peer is { } peer && e.Message.Contains("no image", StringComparison.Ordinal))
            {
                throw new ApiException(e.Problem with { Detail = $"{e.Message}: {peer} does not hold image '{imageName}'; "
                    + $"put it there first (ws --peer {peer} image import ..., or pull it from a host that has it)" });
            }
            var op = await client.ActAsync(w.Name, "start", parse.GetValue(AcceptOffer) ? "acceptOffer=true" : null, ct);
            if (!parse.GetValue(NoWait)) await Output.WaitAsync(client, op, $"Starting {w.Name}", ct);
            Print(parse, await client.GetWorkspaceAsync(w.Name, ct), $"Launched {w.Name}" + (client.Peer is { } p ? $" on {p}" : ""));
        });
        root.Subcommands.Add(launch);

        async Task<CreateWorkspaceRequest> RequestAsync(ParseResult parse, string imageName, string name, CancellationToken ct) => new(
            name, imageName, parse.GetValue(vcpus), parse.GetValue(memory), parse.GetValue(cmdline),
            parse.GetValue(CpuQuota), parse.GetValue(CpuWeight), parse.GetValue(TasksMax), parse.GetValue(IoWeight), parse.GetValue(AcceptOffer),
            // --network alone means the default network.
            parse.GetResult(network) is { Implicit: false } ? parse.GetValue(network) ?? "default" : null,
            parse.GetValue(egress), parse.GetValue(rate),
            parse.GetValue(userData) is { } file ? await GuestFiles.ReadTextAsync(file, "--user-data", ct) : null,
            parse.GetValue(sshKey) is { Length: > 0 } keys ? await Task.WhenAll(keys.Select(k => GuestFiles.ReadTextAsync(k, "--ssh-key", ct))) : null,
            parse.GetValue(secret) is { Length: > 0 } secrets ? await GuestFiles.SecretsAsync(secrets, ct) : null,
            parse.GetValue(cpu));
    }

    private static void Print(ParseResult parse, WorkspaceInfo w, string message)
    {
        if (Output.Json(parse)) Output.WriteJson(w, WorkspacesJson.Default.WorkspaceInfo);
        else Console.Out.WriteLine($"{message} ({w.State})");
    }

    private static void AddList(RootCommand root)
    {
        var peers = new Option<bool>("--peers") { Description = "also every reachable peer's workspaces, with a HOST column" };
        var list = new Command("list", "list workspaces") { peers };
        list.Aliases.Add("ls");
        WorkspaceList.AddFilters(list);
        list.Run(async (client, parse, ct) =>
        {
            if (parse.GetValue(peers))
            {
                await ListEverywhereAsync(client, parse, ct);
                return;
            }
            await WorkspaceList.PrintAsync(client, parse, ct); // page by page, printed as they come
        });
        root.Subcommands.Add(list);
    }

    /// <summary>
    /// `ws list --peers`: this host's workspaces and each peer's (through the proxy, asked in parallel). A
    /// peer that cannot be asked is named on stderr; the others are still listed and the exit is 0.
    /// </summary>
    private static async Task ListEverywhereAsync(WorkspacesClient client, ParseResult parse, CancellationToken ct)
    {
        if (client.Peer is not null) throw new ArgumentException("--peers lists this host and all its peers: leave out --peer");
        var host = await client.GetHostAsync(ct);
        string here = host.PeerName ?? host.Hostname;
        var known = await client.ListPeersAsync(ct);
        var names = known.Where(p => p.Reachable).Select(p => p.Name).ToList();
        var unreachable = known.Where(p => !p.Reachable).Select(p => $"{p.Name} (unreachable: {p.Error})").ToList();
        var answers = await Task.WhenAll(names.Select(async name =>
        {
            using var peer = client.ForPeer(name);
            try { return (Host: name, List: await peer.ListWorkspacesAsync(ct), Error: (string?)null); }
            catch (Exception e) when (e is ApiException or HttpRequestException) { return (Host: name, List: Array.Empty<WorkspaceInfo>(), Error: e.Message); }
        }));
        foreach (var why in unreachable.Concat(answers.Where(a => a.Error is not null).Select(a => $"{a.Host} ({a.Error})")))
            Console.Error.WriteLine($"ws: not listed: {why}");
        var rows = (await client.ListWorkspacesAsync(ct)).Select(w => (Host: here, W: w))
            .Concat(answers.SelectMany(a => a.List.Select(w => (a.Host, W: w)))).ToList();
        if (Output.Json(parse)) { Output.WriteJson(rows.Select(r => new HostedWorkspace(r.Host, r.W)).ToArray(), WorkspacesJson.Default.HostedWorkspaceArray); return; }
        Output.Table(["host", "name", "state", "image", "vcpus", "memory", "pid", "owner"],
            rows.Select(r => new[] { r.Host, r.W.Name, r.W.State, r.W.ImageName, r.W.Vcpus.ToString(), $"{r.W.MemoryMiB} MiB", r.W.Pid?.ToString() ?? "-", r.W.Owner.ToString() }));
    }

    private static void AddShow(RootCommand root)
    {
        var show = new Command("show", "show one workspace: spec, state and why") { Name };
        show.Run(async (client, parse, ct) =>
        {
            var w = await client.GetWorkspaceWithAgentAsync(parse.GetValue(Name)!, ct);
            if (Output.Json(parse)) { Output.WriteJson(w, WorkspacesJson.Default.WorkspaceInfo); return; }
            var agent = w.Agent;
            var traffic = w.Nic is null ? null : await client.GetTrafficAsync(w.Name, ct);
            Output.Fields([("Name", w.Name), ("Id", w.Id), ("State", w.State), ("Reason", w.Reason), ("Image", $"{w.ImageName} ({Output.Short(w.Image)})"),
                ("vCPUs", w.Vcpus), ("Memory", $"{w.MemoryMiB} MiB"), ("CPU quota", w.CpuQuotaPercent is { } q ? $"{q}%" : "none"),
                ("CPU weight", w.CpuWeight), ("Tasks max", w.TasksMax), ("I/O weight", w.IoWeight), ("Limits in", w.Unit),
                ("Cmdline", w.Cmdline), ("Accelerator", w.Accelerator), ("CPU model", w.CpuModel), ("Copied from", w.CopiedFrom), ("Pid", w.Pid),
                ("Owner", w.Owner), ("Created", w.CreatedAt.ToString("u")), ("Updated", w.UpdatedAt.ToString("u")),
                ("Network", w.Nic is { } n ? $"{n.Network}: {n.Address ?? "no address until it starts"} ({n.Mac}, tap {n.Tap})" : null),
                ("Egress", w.Nic is { } e ? (e.Egress.Length == 0 ? "anything" : e.Egress) : null),
                ("Rate limit", w.Nic?.RateKbit is { } r ? $"{r} kbit/s" : null),
                ("Forwards", w.Nic is { Forwards.Length: > 0 } f ? string.Join(", ", f.Forwards) : null),
                ("Rules", w.Nic?.Rules is { Length: > 0 } rules ? string.Join("\n", rules) : null),
                ("Agent", agent is null ? null : agent.Answering ? "answering" : $"not answering ({agent.Error})"),
                ("Guest OS", agent?.Os is { } os ? $"{os.PrettyName ?? os.Name ?? os.Id} (kernel {os.Kernel}, {os.Machine})" : null),
                ("Addresses", agent?.Interfaces is { } ifs ? string.Join("\n", ifs.Where(i => i.Addresses.Length > 0)
                    .Select(i => $"{i.Name}: {string.Join(" ", i.Addresses)}")) : null), .. QuarantineCommands.Fields(traffic)]);
        });
        root.Subcommands.Add(show);
    }

    private static void AddAction(RootCommand root, string action, string description, string progress)
    {
        var command = new Command(action, description) { Name, NoWait };
        var discard = new Option<bool>("--discard-state") { Description = "boot it afresh, throwing away the RAM saved by ws stop --stateful" };
        if (action == "start")
        {
            command.Options.Add(AcceptOffer);
            command.Options.Add(discard);
        }
        command.Run(async (client, parse, ct) =>
        {
            string query = action != "start" ? "" : string.Join('&', new[]
            {
                parse.GetValue(AcceptOffer) ? "acceptOffer=true" : null,
                parse.GetValue(discard) ? "discardState=true" : null,
            }.OfType<string>());
            await ActAsync(client, parse, action, query.Length == 0 ? null : query, $"{progress} {parse.GetValue(Name)}", ct);
        });
        root.Subcommands.Add(command);
    }

    private static void AddStop(RootCommand root)
    {
        var force = new Option<bool>("--force") { Description = "power off at once instead of an ACPI shutdown" };
        var timeout = new Option<int?>("--timeout") { Description = "seconds to wait for the guest before forcing it off" };
        var stateful = new Option<bool>("--stateful") { Description = "save its RAM and device state instead; ws start then continues where it was" };
        var stop = new Command("stop", "shut a workspace down (ACPI powerdown, forced after a timeout)") { Name, force, timeout, stateful, NoWait };
        stop.Run(async (client, parse, ct) =>
        {
            var query = string.Join('&', new[]
            {
                parse.GetValue(force) ? "force=true" : null,
                parse.GetValue(stateful) ? "stateful=true" : null,
                parse.GetValue(timeout) is { } t ? $"timeout={t}" : null,
            }.OfType<string>());
            await ActAsync(client, parse, "stop", query.Length == 0 ? null : query, $"Stopping {parse.GetValue(Name)}", ct);
        });
        root.Subcommands.Add(stop);
    }

    private static void AddSet(RootCommand root)
    {
        var memory = new Option<int?>("--memory") { Description = "memory in MiB (live through the balloon, up to the boot size)" };
        var set = new Command("set", "renegotiate a workspace's limits; a running one changes live") { Name, CpuQuota, CpuWeight, memory, TasksMax, IoWeight };
        set.Run(async (client, parse, ct) =>
        {
            var w = await client.SetResourcesAsync(parse.GetValue(Name)!, new SetResourcesRequest(
                parse.GetValue(CpuQuota), parse.GetValue(CpuWeight), parse.GetValue(memory), parse.GetValue(TasksMax), parse.GetValue(IoWeight)), ct);
            Print(parse, w, $"{w.Name}: cpu quota {(w.CpuQuotaPercent is { } q ? q + "%" : "none")}, memory {w.MemoryMiB} MiB");
        });
        root.Subcommands.Add(set);
    }

    private static async Task ActAsync(WorkspacesClient client, ParseResult parse, string action, string? query, string message, CancellationToken ct)
    {
        string name = parse.GetValue(Name)!;
        var op = await client.ActAsync(name, action, query, ct);
        if (parse.GetValue(NoWait))
        {
            if (Output.Json(parse)) Output.WriteJson(op, WorkspacesJson.Default.OperationInfo);
            else Console.Out.WriteLine($"Operation {op.Id}: {action} {name}");
            return;
        }
        await Output.WaitAsync(client, op, message, ct);
        var w = await client.GetWorkspaceAsync(name, ct);
        Print(parse, w, $"{name}: {w.Reason}");
    }

    private static void AddRemove(RootCommand root)
    {
        var force = new Option<bool>("--force") { Description = "stop it first if it is running" };
        var rm = new Command("rm", "delete a workspace, its disk and its record") { Name, force };
        rm.Aliases.Add("delete");
        rm.Run(async (client, parse, ct) => await client.DeleteWorkspaceAsync(parse.GetValue(Name)!, parse.GetValue(force), ct));
        root.Subcommands.Add(rm);
    }

    private static void AddConsole(RootCommand root)
    {
        var noFollow = new Option<bool>("--no-follow") { Description = "print the log so far and exit" };
        var until = new Option<string?>("--until") { Description = "stop following once this text has appeared" };
        var console = new Command("console", "print the serial console and follow it (Ctrl-C to leave)") { Name, noFollow, until };
        console.Run(async (client, parse, ct) =>
        {
            string? marker = parse.GetValue(until);
            await using var log = await client.OpenConsoleAsync(parse.GetValue(Name)!, follow: !parse.GetValue(noFollow), ct);
            await using var stdout = Console.OpenStandardOutput();
            var buffer = new byte[16 * 1024];
            string tail = "";
            try
            {
                int n;
                while ((n = await log.ReadAsync(buffer, ct)) > 0)
                {
                    await stdout.WriteAsync(buffer.AsMemory(0, n), ct);
                    if (marker is null) continue;
                    // Keep a tail long enough that a marker split across reads is still found.
                    tail = tail + System.Text.Encoding.UTF8.GetString(buffer, 0, n);
                    if (tail.Contains(marker, StringComparison.Ordinal)) return;
                    if (tail.Length > marker.Length) tail = tail[^marker.Length..];
                }
                if (marker is not null) throw new IOException($"the console ended before '{marker}' appeared");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
        });
        root.Subcommands.Add(console);
    }
}
