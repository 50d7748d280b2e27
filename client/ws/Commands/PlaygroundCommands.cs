using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

/// <summary>ws playground: apply a document (plan first, act with --yes), list, show, act on all members, remove, export.</summary>
public static class PlaygroundCommands
{
    public static void Add(RootCommand root)
    {
        var playground = new Command("playground", "clusters of workspaces declared by one document (YAML or JSON), on their own network");

        var file = new Argument<string>("file") { Description = "the playground document (YAML or JSON); - reads standard input" };
        var yes = new Option<bool>("--yes") { Description = "carry the plan out (without it, only show what would be done)" };
        var apply = new Command("apply", "show what applying FILE creates and removes, where and why; with --yes, do it (all or nothing)") { file, yes };
        apply.Run(async (client, parse, ct) =>
        {
            string path = parse.GetValue(file)!;
            string text = path == "-" ? await Console.In.ReadToEndAsync(ct) : await File.ReadAllTextAsync(path, ct);
            var plan = await client.ApplyPlaygroundAsync(text, parse.GetValue(yes), ct);
            if (Output.Json(parse)) { Output.WriteJson(plan, WorkspacesJson.Default.PlaygroundPlan); return; }
            Output.Table(["action", "target", "host", "why"], plan.Steps.Select(s => new[] { s.Action, s.Target, s.Host, s.Why }));
            Console.Out.WriteLine(plan.Unchanged ? $"Playground {plan.Name}: nothing to change."
                : plan.Applied ? $"Playground {plan.Name} applied." : "Nothing done yet: apply again with --yes to carry this out.");
        });
        playground.Subcommands.Add(apply);

        var list = new Command("list", "the playgrounds you may see");
        list.Run(async (client, parse, ct) =>
        {
            var all = await client.ListPlaygroundsAsync(ct);
            if (Output.Json(parse)) { Output.WriteJson(all, WorkspacesJson.Default.PlaygroundInfoArray); return; }
            // A playground a peer applied lists the members this host runs for it, and says which host applied it.
            Output.Table(["name", "subnet", "members", "applied by", "states"], all.Select(p => new[]
            {
                p.Name, p.Subnet, p.Members.Length.ToString(), p.AppliedBy ?? "this host",
                string.Join(", ", p.Members.GroupBy(m => m.State).Select(g => $"{g.Count()} {g.Key}")),
            }));
        });
        playground.Subcommands.Add(list);

        var name = new Argument<string>("name") { Description = "the playground" };
        var identity = new Option<bool>("--identity") { Description = "print the playground's signed identity document (as members hold it at /etc/playground.json)" };
        var show = new Command("show", "a playground's network and members: role, host, state, address") { name, identity };
        show.Run(async (client, parse, ct) =>
        {
            if (parse.GetValue(identity)) { Console.Out.WriteLine(await client.GetPlaygroundIdentityAsync(parse.GetValue(name)!, ct)); return; }
            Print(await client.GetPlaygroundAsync(parse.GetValue(name)!, ct), parse);
        });
        playground.Subcommands.Add(show);

        var verifyFile = new Argument<string>("file") { Description = "a playground identity document; - reads standard input" };
        var verify = new Command("verify", "check a playground identity document (exits 1 and says what fails, naming the member): every member's and the playground's signature, against this host's and its peers' keys") { verifyFile };
        verify.RunWithExitCode(async (client, parse, ct) =>
        {
            string path = parse.GetValue(verifyFile)!;
            string text = path == "-" ? await Console.In.ReadToEndAsync(ct) : await File.ReadAllTextAsync(path, ct);
            var result = await client.VerifyPlaygroundIdentityAsync(text, ct);
            if (Output.Json(parse)) Output.WriteJson(result, WorkspacesJson.Default.PlaygroundVerifyResult);
            else if (result.Valid) Console.Out.WriteLine($"Valid: playground {result.Name}, applied by {result.AppliedBy} at {result.IssuedAt}, members {string.Join(", ", result.Members ?? [])}");
            else foreach (string problem in result.Problems) Console.Error.WriteLine($"ws: not valid: {problem}");
            return result.Valid ? 0 : 1;
        });
        playground.Subcommands.Add(verify);

        foreach (var (action, what) in new[]
        {
            ("start", "start every member that is not running"),
            ("stop", "stop every running or paused member"),
            ("pause", "pause every running member"),
            ("resume", "resume every paused member"),
            ("save", "pause every member at once, then save each statefully (a consistent cut)"),
            ("restore", "start every saved member where it was"),
        })
        {
            var target = new Argument<string>("name") { Description = "the playground" };
            var command = new Command(action, what) { target };
            command.Run(async (client, parse, ct) => Print(await client.ActOnPlaygroundAsync(parse.GetValue(target)!, action, ct), parse));
            playground.Subcommands.Add(command);
        }

        var rmName = new Argument<string>("name") { Description = "the playground" };
        var rm = new Command("rm", "remove every member, the network and the playground") { rmName };
        rm.Run(async (client, parse, ct) =>
        {
            await client.DeletePlaygroundAsync(parse.GetValue(rmName)!, ct);
            Console.Out.WriteLine($"Playground {parse.GetValue(rmName)} removed.");
        });
        playground.Subcommands.Add(rm);

        var exportName = new Argument<string>("name") { Description = "the playground" };
        var exportFile = new Argument<string>("file") { Description = "where to write the document" };
        var export = new Command("export", "write the document last applied to FILE, each role pinned to its members' image by fingerprint, to apply it at another site") { exportName, exportFile };
        export.Run(async (client, parse, ct) =>
        {
            string text = await client.ExportPlaygroundAsync(parse.GetValue(exportName)!, ct);
            string path = parse.GetValue(exportFile)!;
            string temp = path + ".tmp";
            await File.WriteAllTextAsync(temp, text, ct);
            File.Move(temp, path, overwrite: true);
            Console.Out.WriteLine($"Wrote {path}.");
        });
        playground.Subcommands.Add(export);

        root.Subcommands.Add(playground);
    }

    private static void Print(PlaygroundInfo info, ParseResult parse)
    {
        if (Output.Json(parse)) { Output.WriteJson(info, WorkspacesJson.Default.PlaygroundInfo); return; }
        Console.Out.WriteLine(info.AppliedBy is { } by
            ? $"{info.Name}: network {info.Network} ({info.Subnet}), applied by host {by}; the members this host runs for it (named {Output.Age(info.AppliedAt)}):"
            : $"{info.Name}: network {info.Network} ({info.Subnet}), applied {Output.Age(info.AppliedAt)}");
        // A lost or unreachable member says why (which host did not answer); the column is there only then.
        if (info.Members.Any(m => m.Reason is not null))
            Output.Table(["member", "role", "index", "host", "state", "address", "why"],
                info.Members.Select(m => new[] { m.Name, m.Role, m.Index.ToString(), m.Host, m.State, m.Address ?? "-", m.Reason ?? "" }));
        else
            Output.Table(["member", "role", "index", "host", "state", "address"],
                info.Members.Select(m => new[] { m.Name, m.Role, m.Index.ToString(), m.Host, m.State, m.Address ?? "-" }));
    }
}
