using System.Diagnostics;

namespace Workspaces.Testing;

/// <summary>
/// tcpdump on one interface of a namespace, writing a pcap; ready once it says it listens, flushed and ended at
/// dispose. Immediate mode: else packets wait in the kernel's ring for a block to fill, and a capture ended soon
/// after the traffic loses them (seen here: an empty pcap after pings that crossed).
/// </summary>
public sealed class PacketCapture : IAsyncDisposable
{
    private readonly Process _process;
    private PacketCapture(Process process) => _process = process;

    public static async Task<PacketCapture> StartAsync(string ns, string iface, string pcap)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "netns", "exec", ns, "tcpdump", "--immediate-mode", "-U", "-ni", iface, "-w", pcap }) start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        var capture = new PacketCapture(process);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await process.StandardError.ReadLineAsync(timeout.Token) is { } line)
            if (line.Contains("listening on")) return capture;
        await capture.DisposeAsync();
        throw new InvalidOperationException("tcpdump ended before it listened");
    }

    /// <summary>How many packets of a pcap match a tcpdump filter ("" for all).</summary>
    public static async Task<int> CountAsync(string pcap, string filter)
    {
        var read = await Processes.RunAsync("tcpdump", ["-nr", pcap, filter]);
        if (read.ExitCode != 0) throw new InvalidOperationException($"tcpdump could not read {pcap}: {read.Stderr}");
        return read.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    public async ValueTask DisposeAsync()
    {
        // SIGINT (not SIGKILL): tcpdump flushes its file and exits; `ip netns exec` execs it, so the pid is tcpdump's.
        await Processes.RunAsync("kill", ["-INT", _process.Id.ToString()]);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
