using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Bash completion of ws: packaging/completion/ws.bash asks the ws being completed through System.CommandLine's
/// [suggest:POSITION] directive. Run in a real bash, as bash-completion would call it, from the checkout and
/// from the .deb (which installs it as /usr/share/bash-completion/completions/ws).
/// </summary>
public sealed class CompletionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ws-completion-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>What bash offers for each line (cursor at its end), one line of space-separated words each.</summary>
    private async Task<string[]> CompleteAsync(string script, string ws, params string[] lines)
    {
        // Bash completes the command word as typed: "ws" on the PATH, this ws.
        string bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(bin);
        string command = Path.Combine(bin, "ws");
        File.Delete(command);
        if (ws.EndsWith(".dll", StringComparison.Ordinal))
        {
            await File.WriteAllTextAsync(command, $"#!/bin/sh\nexec dotnet '{ws}' \"$@\"\n");
            File.SetUnixFileMode(command, (UnixFileMode)Convert.ToInt32("755", 8));
        }
        else
        {
            File.CreateSymbolicLink(command, ws);
        }
        const string driver = """
            source "$1"; shift
            complete -p ws >/dev/null || { echo "ws.bash registered no completion for ws" >&2; exit 1; }
            for line in "$@"; do
                COMP_LINE=$line; COMP_POINT=${#line}
                read -ra COMP_WORDS <<< "$line"; [[ $line == *" " ]] && COMP_WORDS+=("")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                _ws
                echo "${COMPREPLY[*]}"
            done
            """;
        var run = await Processes.RunAsync("bash", ["-c", driver, "bash", script, .. lines], TimeSpan.FromMinutes(1),
            new Dictionary<string, string> { ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}" });
        Assert.True(run.ExitCode == 0, run.Stderr);
        return run.Stdout.Split('\n')[..lines.Length];
    }

    private static void AssertCompletes(string[] offered)
    {
        var top = offered[0].Split(' ');
        Assert.Superset(new HashSet<string> { "create", "launch", "list", "start", "stop", "image", "network", "host" }, top.ToHashSet());
        Assert.DoesNotContain(top, w => w.StartsWith('-') || w.StartsWith('/')); // options once a dash is typed
        Assert.Superset(new HashSet<string> { "import", "list", "verify" }, offered[1].Split(' ').ToHashSet());
        Assert.Equal("--json", offered[2]);
        Assert.Equal("create", offered[3]);
        Assert.Equal("start stop", offered[4]);
    }

    private static readonly string[] Lines = ["ws ", "ws image ", "ws list --js", "ws cre", "ws st"];

    [Fact]
    public async Task The_completion_offers_subcommands_and_options()
    {
        var (file, prefix) = Repo.Cli;
        string ws = prefix.Length > 0 ? prefix[0] : file;
        AssertCompletes(await CompleteAsync(Path.Combine(Repo.Root, "packaging/completion/ws.bash"), ws, Lines));
    }

    [Fact]
    public async Task The_deb_installs_the_completion_where_bash_completion_loads_it()
    {
        Prerequisites.Require("dpkg");
        string deb = Environment.GetEnvironmentVariable("WORKSPACES_DEB") is { Length: > 0 } d && File.Exists(d)
            ? d : throw new InvalidOperationException("WORKSPACES_DEB must name the .deb (tests/run.sh builds it with packaging/build-deb.sh)");
        var listing = await Processes.MustAsync("dpkg-deb", ["-c", deb]);
        Assert.Contains(listing.Stdout.Split('\n'), l => l.EndsWith(" ./usr/share/bash-completion/completions/ws", StringComparison.Ordinal));

        // The packaged script with the packaged ws.
        string root = Path.Combine(_dir, "root");
        await Processes.MustAsync("dpkg-deb", ["-x", deb, root]);
        AssertCompletes(await CompleteAsync(Path.Combine(root, "usr/share/bash-completion/completions/ws"), Path.Combine(root, "usr/bin/ws"), Lines));
    }
}
