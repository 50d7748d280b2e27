using System.Diagnostics;
using System.IO.Pipes;
using System.Runtime.InteropServices;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// zstd run by the daemon, one end of its pipe handed to QEMU (getfd, then migrate fd:): compressing what
/// QEMU writes into a file, or decompressing a file into what QEMU reads. The daemon, not QEMU, runs it:
/// QEMU's exec: does not wait for its child, so "completed" came while zstd was still writing (measured),
/// and the file is then written and read by the daemon only, never by the guest's user.
/// </summary>
public sealed class ZstdPipe : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;
    private readonly Stream _pipe;

    private ZstdPipe(Process process, Stream pipe)
    {
        _process = process;
        _pipe = pipe;
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>zstd reading the pipe, writing path (replaced if it exists).</summary>
    public static ZstdPipe Compress(string path) =>
        Start(["-q", "-T0", "-f", "-o", path], input: true);

    /// <summary>zstd reading path, writing the pipe.</summary>
    public static ZstdPipe Decompress(string path) =>
        Start(["-q", "-d", "-c", path], input: false);

    private static ZstdPipe Start(string[] args, bool input)
    {
        var start = new ProcessStartInfo("zstd") { RedirectStandardInput = input, RedirectStandardOutput = !input, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new HypervisorException("zstd did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new HypervisorException($"zstd, which saves and restores guest state, could not be run ({e.Message}); install zstd", e);
        }
        return new ZstdPipe(process, input ? process.StandardInput.BaseStream : process.StandardOutput.BaseStream);
    }

    /// <summary>The daemon's end of the pipe, for getfd.</summary>
    public SafeHandle Descriptor => _pipe switch
    {
        PipeStream p => p.SafePipeHandle,
        FileStream f => f.SafeFileHandle,
        _ => throw new HypervisorException($"zstd's pipe is a {_pipe.GetType().Name}, not a descriptor"),
    };

    /// <summary>Once QEMU holds its own copy: ours closes, so zstd sees the end of the stream when QEMU closes its copy.</summary>
    public void LetGo() => _pipe.Dispose();

    /// <summary>Waits for zstd to finish (all written, or all read) and checks that it succeeded.</summary>
    public async Task FinishAsync(CancellationToken ct)
    {
        await _process.WaitForExitAsync(ct);
        if (_process.ExitCode != 0)
            throw new HypervisorException($"zstd failed (exit {_process.ExitCode}): {(await _stderr).Trim()}");
    }

    public void Dispose()
    {
        _pipe.Dispose();
        if (!_process.HasExited)
        {
            try { _process.Kill(); } catch (InvalidOperationException) { } // it ended meanwhile
        }
        _process.Dispose();
    }
}
