using System.Net.Sockets;
using System.Text;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// Runs one shell command line in a guest through its second serial port (shell.sock), for guests that
/// run a shell there (the busybox test guest does). A stand-in for the guest agent's guest-exec until
/// that lands: the command's output ends with a marker and its exit code, and the marker is split in the
/// command so that the terminal's echo of the command cannot match it.
/// </summary>
public static class ShellPort
{
    public static async Task<string> RunAsync(string socketPath, string workspace, string command, TimeSpan timeout, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var output = new StringBuilder();
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), limit.Token);
            string marker = $"WS-DONE-{Guid.NewGuid():N}";
            await socket.SendAsync(Encoding.ASCII.GetBytes($"{command} 2>&1; echo \"{marker[..4]}\"\"{marker[4..]} $?\"\n"), limit.Token);
            var buffer = new byte[4096];
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, limit.Token);
                if (n == 0) throw new IOException("the port closed");
                output.Append(Encoding.ASCII.GetString(buffer, 0, n));
                string text = output.ToString();
                int at = text.IndexOf(marker, StringComparison.Ordinal);
                if (at < 0 || text.IndexOf('\n', at) is not (var end and > 0)) continue;
                string code = text[(at + marker.Length + 1)..end].Trim();
                return code == "0" ? text[..at]
                    : throw WorkspacesException.Conflict($"in workspace '{workspace}', '{command}' exited with {code}: {text[..at].Trim()}");
            }
        }
        catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw WorkspacesException.Conflict($"workspace '{workspace}' did not run a command on its shell port within {timeout.TotalSeconds:0} s ({e.Message}); so far: {output}");
        }
    }
}
