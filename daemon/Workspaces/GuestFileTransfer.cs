using System.Security.Cryptography;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor.Qemu;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// Files into and out of a guest through its agent (guest-file-open/read/write/close), one chunk at
/// a time between the HTTP body and the agent: the daemon never holds a whole file. A file written
/// goes to a temporary name beside its target and is renamed over it (mv in the guest) once whole,
/// so the guest never sees half a file under the final name.
/// </summary>
public static class GuestFileTransfer
{
    /// <summary>Bytes per guest-file-read/write: base64 makes each command a third larger (qemu-ga allows 48 MiB).</summary>
    public const int Chunk = 1 << 20;

    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(3);

    public static void CheckPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/' || path.Contains('\0') || path.EndsWith('/'))
            throw WorkspacesException.BadRequest($"a guest path is absolute and names a file, not {Names.Quote(path ?? "")}");
    }

    /// <summary>Opens PATH in the guest for reading: its handle and size (the agent's error, e.g. no such file, as GuestAgentException).</summary>
    public static async Task<(long Handle, long Size)> OpenForReadAsync(GuestAgent agent, string path, CancellationToken ct)
    {
        CheckPath(path);
        long handle = await agent.FileOpenAsync(path, "r", ct);
        try
        {
            long size = await agent.FileSeekAsync(handle, 0, "end", ct);
            await agent.FileSeekAsync(handle, 0, "set", ct);
            return (handle, size);
        }
        catch
        {
            await CloseQuietlyAsync(agent, handle);
            throw;
        }
    }

    /// <summary>Copies the open file to destination chunk by chunk, then closes it.</summary>
    public static async Task CopyOutAsync(GuestAgent agent, long handle, Stream destination, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var chunk = await agent.FileReadAsync(handle, Chunk, ct);
                if (chunk.Data.Length > 0) await destination.WriteAsync(chunk.Data, ct);
                if (chunk.Eof || chunk.Data.Length == 0) break;
            }
        }
        finally
        {
            await CloseQuietlyAsync(agent, handle);
        }
    }

    /// <summary>Writes source to PATH in the guest: to a temporary name, then renamed over PATH. Returns the bytes written.</summary>
    public static async Task<long> CopyInAsync(GuestAgent agent, string path, Stream source, CancellationToken ct)
    {
        CheckPath(path);
        string partial = $"{path}.ws-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}.partial";
        long handle = await agent.FileOpenAsync(partial, "w", ct);
        bool renamed = false;
        long total = 0;
        try
        {
            var buffer = new byte[Chunk];
            try
            {
                while (true)
                {
                    int filled = 0, n;
                    while (filled < buffer.Length && (n = await source.ReadAsync(buffer.AsMemory(filled), ct)) > 0) filled += n;
                    if (filled == 0) break;
                    for (int offset = 0; offset < filled;)
                    {
                        int wrote = await agent.FileWriteAsync(handle, buffer.AsMemory(offset, filled - offset), ct);
                        if (wrote <= 0) throw new GuestAgentException("guest-file-write", "", $"the guest took no bytes of {partial} (is its disk full?)");
                        offset += wrote;
                    }
                    total += filled;
                    if (filled < buffer.Length) break;
                }
            }
            finally
            {
                await CloseQuietlyAsync(agent, handle);
            }
            await RunAsync(agent, ["-c", "mv -f \"$0\" \"$1\"", partial, path], $"rename {partial} to {path}", ct);
            renamed = true;
            return total;
        }
        finally
        {
            if (!renamed)
            {
                try
                {
                    using var cleanup = new CancellationTokenSource(CleanupTimeout);
                    await RunAsync(agent, ["-c", "rm -f \"$0\"", partial], $"remove {partial}", cleanup.Token);
                }
                catch (Exception e) when (e is GuestAgentUnavailableException or GuestAgentException or OperationCanceledException) { }
            }
        }
    }

    /// <summary>Runs /bin/sh ARGS in the guest and waits for it; a non-zero exit is a GuestAgentException saying what failed.</summary>
    private static async Task RunAsync(GuestAgent agent, IReadOnlyList<string> args, string what, CancellationToken ct)
    {
        long pid = await agent.ExecStartAsync("/bin/sh", args, null, captureOutput: true, ct);
        for (var pause = TimeSpan.FromMilliseconds(5); ; pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 100)))
        {
            var status = await agent.ExecStatusAsync(pid, ct);
            if (status.Exited)
            {
                if (status.ExitCode == 0) return;
                string err = System.Text.Encoding.UTF8.GetString(status.Stderr).Trim();
                throw new GuestAgentException("guest-exec", "", $"could not {what} in the guest: {(err.Length > 0 ? err : $"exit {status.ExitCode}")}");
            }
            await Task.Delay(pause, ct);
        }
    }

    private static async Task CloseQuietlyAsync(GuestAgent agent, long handle)
    {
        try { await agent.FileCloseAsync(handle, CancellationToken.None, CleanupTimeout); }
        catch (Exception e) when (e is GuestAgentUnavailableException or GuestAgentException) { }
    }
}
