using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

/// <summary>ws exec, ws cp, ws run: a running guest reached through its agent.</summary>
public static class GuestCommands
{
    /// <summary>ws's exit code for a command that outlived --timeout (as timeout(1)).</summary>
    public const int TimedOutExit = 124;

    private static readonly Option<string[]> Env = new("--env", "-e") { Description = "set NAME=VALUE in the command's environment (repeatable)", AllowMultipleArgumentsPerToken = false };
    private static readonly Option<string?> Cwd = new("--cwd") { Description = "the directory to run it in" };
    private static readonly Option<double?> Timeout = new("--timeout") { Description = "seconds the command may run; then it is killed and ws exits 124" };
    private static readonly Argument<string[]> CommandLine = new("command") { Description = "the command and its arguments, after --", Arity = ArgumentArity.OneOrMore };

    public static void Add(RootCommand root)
    {
        AddExec(root);
        AddCopy(root);
        AddRun(root);
    }

    private static void AddExec(RootCommand root)
    {
        var name = new Argument<string>("name") { Description = "the workspace's name" };
        var exec = new Command("exec", "run a command in a running workspace (through its guest agent): ws exec NAME -- CMD ARGS...; exits with its code")
            { name, Env, Cwd, Timeout, CommandLine };
        exec.RunWithExitCode(async (client, parse, ct) =>
        {
            var request = new ExecRequest(parse.GetValue(CommandLine)!, NullIfEmpty(parse.GetValue(Env)), parse.GetValue(Cwd), parse.GetValue(Timeout));
            return await RelayAsync(client.ExecAsync(parse.GetValue(name)!, request, ct), ct);
        });
        root.Subcommands.Add(exec);
    }

    private static void AddRun(RootCommand root)
    {
        var image = new Argument<string>("image") { Description = "the image to run it in" };
        var from = new Option<string?>("--from") { Description = "start from this template (saved RAM) instead of a cold boot" };
        var keep = new Option<bool>("--keep") { Description = "keep the workspace afterwards (it is removed by default)" };
        var userData = new Option<FileInfo?>("--user-data") { Description = "cloud-init user-data for the workspace" };
        var vcpus = new Option<int?>("--vcpus") { Description = "virtual CPUs" };
        var memory = new Option<int?>("--memory") { Description = "memory in MiB" };
        var cmdline = new Option<string?>("--cmdline") { Description = "kernel command line (boot-set images)" };
        var network = new Option<string?>("--network") { Description = "plug a NIC into this network" };
        var nameOption = new Option<string?>("--name") { Description = "the workspace's name (default: run-XXXXXXXX)" };
        var run = new Command("run", "run one command in a new workspace and remove it afterwards: ws run IMAGE -- CMD ARGS...; exits with its code")
            { image, from, keep, userData, vcpus, memory, cmdline, network, nameOption, Env, Cwd, Timeout, CommandLine };
        run.RunWithExitCode(async (client, parse, ct) =>
        {
            string? data = parse.GetValue(userData) is { } file ? await File.ReadAllTextAsync(file.FullName, ct) : null;
            var request = new RunRequest(parse.GetValue(image)!, parse.GetValue(CommandLine)!, parse.GetValue(nameOption),
                parse.GetValue(vcpus), parse.GetValue(memory), parse.GetValue(network), parse.GetValue(cmdline),
                NullIfEmpty(parse.GetValue(Env)), parse.GetValue(Cwd), parse.GetValue(Timeout), Keep: parse.GetValue(keep),
                From: parse.GetValue(from), UserData: data);
            return await RelayAsync(client.RunAsync(request, ct), ct, keep: parse.GetValue(keep));
        });
        root.Subcommands.Add(run);
    }

    private static string[]? NullIfEmpty(string[]? values) => values is { Length: > 0 } ? values : null;

    /// <summary>Frames to our stdout and stderr as they come; the exit code is the command's (124 for a timeout, 1 for an error).</summary>
    private static async Task<int> RelayAsync(IAsyncEnumerable<ExecFrame> frames, CancellationToken ct, bool keep = false)
    {
        await using var stdout = Console.OpenStandardOutput();
        await using var stderr = Console.OpenStandardError();
        await foreach (var frame in frames.WithCancellation(ct))
        {
            if (frame.Workspace is { } made)
            {
                if (keep) Console.Error.WriteLine($"ws: running in workspace {made} (kept afterwards)");
                continue;
            }
            if (frame.Data is { Length: > 0 } data)
            {
                var to = frame.Stream == "stderr" ? stderr : stdout;
                await to.WriteAsync(data, ct);
                await to.FlushAsync(ct);
                continue;
            }
            if (frame.TimedOut == true)
            {
                Cli.Fail(frame.Error ?? "the command timed out");
                return TimedOutExit;
            }
            if (frame.Error is { } error) return Cli.Fail(error);
            if (frame.Exit is { } code) return code;
        }
        return Cli.Fail("the connection to workspacesd ended before the command did");
    }

    private static void AddCopy(RootCommand root)
    {
        var source = new Argument<string>("source") { Description = "NAME:/path in a workspace, or a local file" };
        var destination = new Argument<string>("destination") { Description = "a local path, or NAME:/path in a workspace" };
        var cp = new Command("cp", "copy a file into or out of a running workspace: ws cp NAME:/path LOCAL, ws cp LOCAL NAME:/path")
            { source, destination };
        cp.Run(async (client, parse, ct) =>
        {
            string from = parse.GetValue(source)!, to = parse.GetValue(destination)!;
            var (remoteFrom, remoteTo) = (Remote(from), Remote(to));
            if (remoteFrom is null && remoteTo is null)
                throw new ArgumentException("ws cp copies files between a running workspace and here (NAME:/path); to copy a whole workspace, use ws copy NAME NEWNAME");
            if (remoteFrom is not null && remoteTo is not null)
                throw new ArgumentException("ws cp copies between a workspace and here: only one side is NAME:/path");
            if (remoteFrom is var (name, guestPath))
            {
                string local = Directory.Exists(to) ? Path.Combine(to, Path.GetFileName(guestPath)) : to;
                string partial = local + ".ws-partial";
                using var bar = new ProgressBar(Path.GetFileName(guestPath));
                try
                {
                    await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                        await client.DownloadFileAsync(name, guestPath, file, bar.Report, ct);
                    File.Move(partial, local, overwrite: true);
                }
                catch
                {
                    File.Delete(partial);
                    throw;
                }
            }
            else
            {
                var (name2, path2) = remoteTo!.Value;
                if (path2.EndsWith('/')) path2 += Path.GetFileName(from);
                await using var file = File.OpenRead(from);
                long total = file.Length;
                using var bar = new ProgressBar(Path.GetFileName(from));
                await client.UploadFileAsync(name2, path2, file, n => bar.Add(n, total), ct);
            }
        });
        root.Subcommands.Add(cp);
    }

    /// <summary>NAME:/path names a file in a workspace (a name has no '/'); anything else is local.</summary>
    private static (string Name, string Path)? Remote(string text)
    {
        int colon = text.IndexOf(':');
        if (colon <= 0 || text.AsSpan(0, colon).Contains('/') || colon + 1 >= text.Length || text[colon + 1] != '/') return null;
        return (text[..colon], text[(colon + 1)..]);
    }
}
