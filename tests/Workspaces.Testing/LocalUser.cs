namespace Workspaces.Testing;

/// <summary>An ordinary local account for access tests, and `ws` run as it (setpriv drops to its uid and gid, no groups).</summary>
public sealed class LocalUser
{
    private LocalUser(string name, uint uid, string[] cli) => (Name, Uid, _cli) = (name, uid, cli);

    private readonly string[] _cli;
    public string Name { get; }
    public uint Uid { get; }

    /// <summary>
    /// The account is host-wide, and test classes (and other test runs on the host) ensure it at the same
    /// time: concurrent useradds of one name can fail ("already exists"), or leave `id -u` answering three
    /// different uids for it (both seen on this host). So each useradd runs under one host-wide lock
    /// (flock), and a name taken by the one before is as good as made.
    /// </summary>
    private const string AddLock = "/tmp/workspaces-tests-useradd.lock";

    public static async Task<LocalUser> EnsureAsync(string name)
    {
        Prerequisites.RequireRoot();
        Prerequisites.Require("useradd", "setpriv", "flock");
        if ((await Processes.RunAsync("id", ["-u", name])).ExitCode != 0)
        {
            var made = await Processes.RunAsync("flock", [AddLock, "useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name]);
            // 9: the name is in use: another test made it first.
            if (made.ExitCode is not (0 or 9)) throw new InvalidOperationException($"useradd {name} failed ({made.ExitCode}): {made.Stderr}");
        }
        uint uid = uint.Parse((await Processes.MustAsync("id", ["-u", name])).Stdout.Trim());

        // The CLI is copied where the user can read it: the checkout may sit under a private home.
        string dir = Directory.CreateTempSubdirectory("ws-cli-").FullName;
        File.SetUnixFileMode(dir, (UnixFileMode)Convert.ToInt32("755", 8));
        if (Repo.NativeCli is { } native)
        {
            File.Copy(native, Path.Combine(dir, "ws"));
            return new LocalUser(name, uid, [Path.Combine(dir, "ws")]);
        }
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory)
                     .Where(f => Path.GetFileName(f) is var n && (n.StartsWith("ws.") || n is "Workspaces.Client.dll" or "System.CommandLine.dll")))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return new LocalUser(name, uid, ["dotnet", Path.Combine(dir, "ws.dll")]);
    }

    /// <summary>Starts `ws ARGS` as this user and leaves it running (e.g. `ws events`, which holds a connection).</summary>
    public System.Diagnostics.Process StartWs(string socket, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--reuid", Name, "--regid", Name, "--clear-groups", "--" }.Concat(_cli).Concat(["--socket", socket]).Concat(args))
            start.ArgumentList.Add(a);
        start.Environment["HOME"] = "/tmp";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return System.Diagnostics.Process.Start(start)!;
    }

    /// <summary>Runs `ws ARGS` as this user.</summary>
    public Task<Processes.Result> WsAsync(string socket, params string[] args) =>
        Processes.RunAsync("setpriv",
            ["--reuid", Name, "--regid", Name, "--clear-groups", "--", .. _cli, "--socket", socket, .. args],
            TimeSpan.FromMinutes(1),
            new Dictionary<string, string> { ["HOME"] = "/tmp", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["TERM"] = "dumb" });
}
