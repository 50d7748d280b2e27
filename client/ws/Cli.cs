using System.CommandLine;
using System.Net.Sockets;
using Workspaces.Client;

namespace Workspaces.Cli;

/// <summary>What every command shares: the socket, --json, and turning failures into one line and an exit code.</summary>
public static class Cli
{
    public static readonly Option<string> SocketOption = new("--socket")
    {
        Description = "workspacesd's socket (default: $WORKSPACES_SOCKET or " + WorkspacesClient.DefaultSocket + ")",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("WORKSPACES_SOCKET") ?? WorkspacesClient.DefaultSocket,
    };

    public static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "print JSON instead of tables",
        Recursive = true,
    };

    public static readonly Option<uint?> OwnerOption = new("--owner")
    {
        Description = "act on this user's workspaces (a uid; admins only): workspace names are per owner",
        Recursive = true,
    };

    public static readonly Option<string?> PeerOption = new("--peer")
    {
        Description = "run the command on this peer, through the local daemon (admins; the peer acts as its own admins)",
        Recursive = true,
    };

    /// <summary>Sets a command's action: a client for the socket, and errors as "ws: message" with exit 1.</summary>
    public static void Run(this Command command, Func<WorkspacesClient, ParseResult, CancellationToken, Task> action) =>
        command.RunWithExitCode(async (client, parse, ct) =>
        {
            await action(client, parse, ct);
            return 0;
        });

    /// <summary>As Run, for a command whose own exit code is the answer (ws exec, ws run).</summary>
    public static void RunWithExitCode(this Command command, Func<WorkspacesClient, ParseResult, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parse, ct) =>
        {
            using var client = new WorkspacesClient(parse.GetValue(SocketOption)!) { Owner = parse.GetValue(OwnerOption), Peer = parse.GetValue(PeerOption) };
            try
            {
                return await action(client, parse, ct);
            }
            catch (ApiException e)
            {
                return Fail(e.Message);
            }
            catch (HttpRequestException e) when (e.InnerException is SocketException s)
            {
                return Fail(s.SocketErrorCode switch
                {
                    SocketError.AccessDenied => $"permission denied on {client.SocketPath}: ask to be added to the workspaces group",
                    SocketError.AddressNotAvailable or SocketError.ConnectionRefused =>
                        $"workspacesd is not running (nothing listens on {client.SocketPath})",
                    _ => $"cannot reach workspacesd at {client.SocketPath}: {s.Message}",
                });
            }
            catch (HttpRequestException e)
            {
                return Fail($"lost the connection to workspacesd: {e.Message}");
            }
            catch (System.Text.Json.JsonException e)
            {
                return Fail($"workspacesd answered something this ws does not understand (a version mismatch?): {e.Message}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                return Fail(e.Message);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return 130;
            }
        });
    }

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"ws: {message}");
        return 1;
    }
}
