using System.Net.Sockets;
using System.Text;

namespace Workspaces.Testing;

/// <summary>
/// Runs commands in a test guest through its second serial port (shell.sock in the workspace's
/// directory): one line in, its output back up to an end marker.
/// </summary>
public static class GuestShell
{
    public static async Task<string> RunAsync(DaemonProcess daemon, string workspace, string command, TimeSpan? timeout = null)
    {
        var info = await daemon.Client.GetWorkspaceAsync(workspace);
        return await RunAtAsync(daemon.Layout.ShellSocket(info.Id), workspace, command, timeout);
    }

    /// <summary>The same through a shell socket given by path (a QEMU a test launched itself).</summary>
    public static async Task<string> RunAtAsync(string socketPath, string workspace, string command, TimeSpan? timeout = null)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var output = new StringBuilder();
        try
        {
            await SyncAsync(socket, output, limit.Token);
            output.Clear();
            string marker = NewMarker();
            await SendAsync(socket, $"{command} 2>&1; {EchoSplit(marker)} $?");
            string text = await ReadPastAsync(socket, output, marker, limit.Token);
            int at = text.IndexOf(marker, StringComparison.Ordinal);
            int code = int.Parse(text[(at + marker.Length + 1)..text.IndexOf('\n', at)].Trim());
            return code == 0 ? text[..at] : throw new GuestCommandException(command, code, text[..at]);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            throw new TimeoutException($"'{command}' in {workspace} did not finish; so far:\n{output}");
        }
        catch (EndOfStreamException)
        {
            throw new IOException($"{workspace}'s command port closed; so far:\n{output}");
        }
    }

    /// <summary>
    /// The first bytes sent to a guest just booted or just restored can be lost (its loop opens the port and sets it
    /// raw only after WORKSPACE-READY, and a restored UART drops what arrives first: "cat" was seen arriving as "at").
    /// A probe whose echo must come back whole shows the line is clean; one not answered in two seconds is sent
    /// again, and only the latest counts (the guest answers in order, so its echo comes after every earlier one).
    /// </summary>
    private static async Task SyncAsync(Socket socket, StringBuilder output, CancellationToken ct)
    {
        while (true)
        {
            string probe = NewMarker();
            await SendAsync(socket, EchoSplit(probe));
            using var patience = CancellationTokenSource.CreateLinkedTokenSource(ct);
            patience.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                await ReadPastAsync(socket, output, probe, patience.Token);
                return;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
        }
    }

    private static string NewMarker() => $"END-{Guid.NewGuid():N}";

    /// <summary>Echoes the marker split in two quoted halves, so only the echo's output, never the guest echoing the line back, can match.</summary>
    private static string EchoSplit(string marker) => $"echo \"{marker[..4]}\"\"{marker[4..]}\"";

    private static async Task SendAsync(Socket socket, string line) => await socket.SendAsync(Encoding.ASCII.GetBytes(line + "\n"));

    /// <summary>Reads into output until the marker and the end of its line have arrived; the text so far.</summary>
    private static async Task<string> ReadPastAsync(Socket socket, StringBuilder output, string marker, CancellationToken ct)
    {
        var buffer = new byte[4096];
        while (true)
        {
            string text = output.ToString();
            if (text.IndexOf(marker, StringComparison.Ordinal) is var at and >= 0 && text.IndexOf('\n', at) > 0) return text;
            int n = await socket.ReceiveAsync(buffer, ct);
            if (n == 0) throw new EndOfStreamException();
            output.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
    }
}
