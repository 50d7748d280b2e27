using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

/// <summary>ws identity NAME | ws identity verify FILE [--host-key KEY] | ws wait NAME --job [--timeout S].</summary>
public static class IdentityCommands
{
    public static void Add(RootCommand root)
    {
        AddIdentity(root);
        AddWait(root);
    }

    private static void AddIdentity(RootCommand root)
    {
        var name = new Argument<string>("name") { Description = "the workspace's name" };
        var identity = new Command("identity", "print a workspace's identity document (JSON signed by this host; the guest has it at /etc/workspaces/identity.json)") { name };
        identity.Run(async (client, parse, ct) => Console.Out.WriteLine(await client.GetIdentityAsync(parse.GetValue(name)!, ct)));

        var file = new Argument<string>("file") { Description = "an identity document ('-': standard input)" };
        var hostKey = new Option<string?>("--host-key") { Description = "the issuing host's Ed25519 key: ed25519:BASE64 as `ws host` shows it, or a PEM file (default: this host's)" };
        var verify = new Command("verify", "check an identity document against a host's key; exits 1 and says what fails if it does not verify") { file, hostKey };
        verify.RunWithExitCode(async (client, parse, ct) =>
        {
            string path = parse.GetValue(file)!;
            string document = path == "-" ? await Console.In.ReadToEndAsync(ct) : await File.ReadAllTextAsync(path, ct);
            string? key = parse.GetValue(hostKey);
            if (key is not null && File.Exists(key)) key = await File.ReadAllTextAsync(key, ct);
            var result = await client.VerifyIdentityAsync(new IdentityVerifyRequest(document.TrimEnd('\n', '\r'), key), ct);
            if (Output.Json(parse)) Output.WriteJson(result, WorkspacesJson.Default.IdentityVerifyResult);
            else if (result.Valid)
                Console.Out.WriteLine($"Valid: workspace {result.Name} ({result.WorkspaceId}) of uid {result.Owner} on host {result.HostName}, image {result.Image}, issued {result.IssuedAt}");
            else
                foreach (var problem in result.Problems) Console.Error.WriteLine($"ws: not valid: {problem}");
            return result.Valid ? 0 : 1;
        });
        identity.Subcommands.Add(verify);
        root.Subcommands.Add(identity);
    }

    private static void AddWait(RootCommand root)
    {
        var name = new Argument<string>("name") { Description = "the workspace's name" };
        var job = new Option<bool>("--job") { Description = "wait for the job its user-data runs at boot (cloud-init done), and exit with its result", Required = true };
        var timeout = new Option<double?>("--timeout") { Description = "give up after this many seconds (default 600)" };
        var wait = new Command("wait", "wait for something in a workspace: --job, the boot's cloud-init job") { name, job, timeout };
        wait.RunWithExitCode(async (client, parse, ct) =>
        {
            var span = parse.GetValue(timeout) is { } s ? TimeSpan.FromSeconds(s) : (TimeSpan?)null;
            var result = await client.WaitJobAsync(parse.GetValue(name)!, span, ct);
            if (Output.Json(parse)) Output.WriteJson(result, WorkspacesJson.Default.JobResult);
            else if (result.Status == "done") Console.Out.WriteLine("Job done");
            else if (result.Status == "error")
            {
                Console.Out.WriteLine("Job failed");
                foreach (var e in result.Errors) Console.Error.WriteLine($"ws: {e}");
            }
            else Console.Error.WriteLine($"ws: the job of {parse.GetValue(name)} is still running after {(span ?? TimeSpan.FromSeconds(600)).TotalSeconds:0.#} s");
            return result.Status switch { "done" => 0, "error" => 1, _ => 2 };
        });
        root.Subcommands.Add(wait);
    }
}
