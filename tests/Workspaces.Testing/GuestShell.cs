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
        string marker = $"END-{Guid.NewGuid():N}";
        // The marker is split in the command so only its output, not an echo, can match.
        await socket.SendAsync(Encoding.ASCII.GetBytes($"{command} 2>&1; echo \"{marker[..4]}\"\"{marker[4..]} $?\"\n"));
        var output = new StringBuilder();
        var buffer = new byte[4096];
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            int n;
            try { n = await socket.ReceiveAsync(buffer, limit.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"'{command}' in {workspace} did not finish; so far:\n{output}"); }
            if (n == 0) throw new IOException($"{workspace}'s command port closed; so far:\n{output}");
            output.Append(Encoding.ASCII.GetString(buffer, 0, n));
            string text = output.ToString();
            int at = text.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0 && text.IndexOf('\n', at) is var end and > 0)
            {
                int code = int.Parse(text[(at + marker.Length + 1)..end].Trim());
                return code == 0 ? text[..at] : throw new GuestCommandException(command, code, text[..at]);
            }
        }
    }
}
