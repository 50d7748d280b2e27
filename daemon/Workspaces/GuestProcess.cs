using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor.Qemu;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// One command run in a guest through its agent, with its output streamed as it comes.
/// qemu-ga's guest-exec hands captured output over only once the process has ended, so the command
/// runs under /bin/sh with stdout and stderr sent to two files in the guest's /tmp that the agent
/// opened first and reads from as they grow (the shell unlinks them before it execs the command, so
/// nothing is left behind however it ends). Each poll asks guest-exec-status, then reads what is
/// new. Needs /bin/sh and a writable /tmp in the guest, as any Linux guest with qemu-ga has.
/// </summary>
public sealed class GuestProcess : IAsyncDisposable
{
    /// <summary>$0: the output files' base; $1: the directory to start in ("" for the agent's); $2: how many K=V follow; then the command.</summary>
    private const string Wrapper =
        "exec >>\"$0.out\" 2>>\"$0.err\" </dev/null; rm -f \"$0.out\" \"$0.err\"; "
        + "[ -z \"$1\" ] || cd \"$1\" || exit 126; n=$2; shift 2; "
        + "while [ \"$n\" -gt 0 ]; do export \"$1\"; shift; n=$((n - 1)); done; exec \"$@\"";

    private const int ReadChunk = 1 << 20;
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(3);

    private readonly GuestAgent _agent;
    private readonly long _out, _err, _pid;
    private readonly TimeSpan? _timeout;
    private bool _ended;

    private GuestProcess(GuestAgent agent, long stdout, long stderr, long pid, TimeSpan? timeout) =>
        (_agent, _out, _err, _pid, _timeout) = (agent, stdout, stderr, pid, timeout);

    /// <summary>Checks the request (a 400 for what cannot run) and starts the command; the agent not answering throws here, before any output.</summary>
    public static async Task<GuestProcess> StartAsync(GuestAgent agent, ExecRequest request, CancellationToken ct)
    {
        Check(request);
        string guestBase = $"/tmp/.ws-exec-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";
        long stdout = await agent.FileOpenAsync(guestBase + ".out", "w+", ct);
        long? stderr = null;
        try
        {
            stderr = await agent.FileOpenAsync(guestBase + ".err", "w+", ct);
            var env = request.Env ?? [];
            string[] args = ["-c", Wrapper, guestBase, request.Cwd ?? "", env.Length.ToString(), .. env, .. request.Command];
            long pid = await agent.ExecStartAsync("/bin/sh", args, env: null, captureOutput: false, ct);
            return new GuestProcess(agent, stdout, stderr.Value, pid, ApiTimeout(request.TimeoutSeconds));
        }
        catch
        {
            await CloseQuietlyAsync(agent, stdout);
            if (stderr is { } e) await CloseQuietlyAsync(agent, e);
            throw;
        }
    }

    private static TimeSpan? ApiTimeout(double? seconds) => seconds switch
    {
        null => null,
        > 0 and <= 86400 when double.IsFinite(seconds.Value) => TimeSpan.FromSeconds(seconds.Value),
        _ => throw WorkspacesException.BadRequest($"timeout must be a number of seconds above 0 and at most 86400, not {seconds}"),
    };

    public static void Check(ExecRequest request)
    {
        if (request.Command is not { Length: > 0 } || string.IsNullOrEmpty(request.Command[0]))
            throw WorkspacesException.BadRequest("give a command to run: ws exec NAME -- CMD ARGS...");
        if (request.Command.Any(a => a is null || a.Contains('\0')))
            throw WorkspacesException.BadRequest("a command's arguments cannot hold NUL characters");
        foreach (var e in request.Env ?? [])
        {
            int eq = e?.IndexOf('=') ?? -1;
            if (eq <= 0 || !e![..eq].All(c => c == '_' || char.IsAsciiLetterOrDigit(c)) || char.IsAsciiDigit(e[0]) || e.Contains('\0'))
                throw WorkspacesException.BadRequest($"an environment entry is NAME=VALUE with NAME of letters, digits and _, not {Names.Quote(e ?? "")}");
        }
        if (request.Cwd is { } cwd && (cwd.Length == 0 || cwd.Contains('\0')))
            throw WorkspacesException.BadRequest("--cwd needs a directory");
        ApiTimeout(request.TimeoutSeconds);
    }

    /// <summary>Output frames as the command writes, then its end: Exit (and Signal), or TimedOut after killing it.</summary>
    public async IAsyncEnumerable<ExecFrame> FollowAsync([EnumeratorCancellation] CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            // Status first: once it says ended, everything the command wrote is in the files.
            var status = await _agent.ExecStatusAsync(_pid, ct);
            bool wrote = false;
            await foreach (var frame in DrainAsync(_out, "stdout", ct)) { wrote = true; yield return frame; }
            await foreach (var frame in DrainAsync(_err, "stderr", ct)) { wrote = true; yield return frame; }
            if (status.Exited)
            {
                _ended = true;
                yield return new ExecFrame(Exit: status.ExitCode ?? (status.Signal is { } s ? 128 + s : null), Signal: status.Signal);
                yield break;
            }
            if (_timeout is { } limit && clock.Elapsed >= limit)
            {
                await KillAsync(ct);
                _ended = true;
                yield return new ExecFrame(TimedOut: true,
                    Error: $"the command did not finish within {limit.TotalSeconds:0.###} s and was killed in the guest");
                yield break;
            }
            // Poll often while it writes or has just started; back off to 100 ms when it is quiet.
            pause = wrote ? TimeSpan.FromMilliseconds(5) : TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 100));
            await Task.Delay(pause, ct);
        }
    }

    private async IAsyncEnumerable<ExecFrame> DrainAsync(long handle, string stream, [EnumeratorCancellation] CancellationToken ct)
    {
        while (true)
        {
            var chunk = await _agent.FileReadAsync(handle, ReadChunk, ct);
            if (chunk.Data.Length > 0) yield return new ExecFrame(stream, chunk.Data);
            if (chunk.Eof)
            {
                await _agent.FileSeekAsync(handle, 0, "cur", ct); // clears the end-of-file mark: the next read sees what comes after
                yield break;
            }
            if (chunk.Data.Length < ReadChunk) yield break;
        }
    }

    /// <summary>SIGKILL to the command (the shell exec'd it, so it has the pid guest-exec gave).</summary>
    private async Task KillAsync(CancellationToken ct)
    {
        long killer = await _agent.ExecStartAsync("/bin/sh", ["-c", "kill -KILL \"$0\"", _pid.ToString()], null, false, ct);
        for (int i = 0; i < 50 && !(await _agent.ExecStatusAsync(killer, ct)).Exited; i++) await Task.Delay(20, ct);
        for (int i = 0; i < 50 && !(await _agent.ExecStatusAsync(_pid, ct)).Exited; i++) await Task.Delay(20, ct); // reaps it in the agent
    }

    private static async Task CloseQuietlyAsync(GuestAgent agent, long handle)
    {
        try { await agent.FileCloseAsync(handle, CancellationToken.None, CleanupTimeout); }
        catch (Exception e) when (e is GuestAgentUnavailableException or GuestAgentException) { } // the guest went: nothing left to close
    }

    /// <summary>Closes the output files; a command still running (the client left) is killed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_ended)
        {
            try
            {
                using var cleanup = new CancellationTokenSource(CleanupTimeout);
                await KillAsync(cleanup.Token);
            }
            catch (Exception e) when (e is GuestAgentUnavailableException or GuestAgentException or OperationCanceledException) { }
        }
        await CloseQuietlyAsync(_agent, _out);
        await CloseQuietlyAsync(_agent, _err);
    }
}
