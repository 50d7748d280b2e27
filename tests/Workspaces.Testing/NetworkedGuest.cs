using Workspaces.Client;

namespace Workspaces.Testing;

public static class NetworkedGuest
{
    /// <summary>
    /// Creates and starts a workspace of the test guest, then waits until its command port answers and its eth0
    /// holds an address (configured after READY: statically at once, by DHCP within seconds).
    /// </summary>
    public static async Task LaunchAsync(DaemonProcess daemon, CreateWorkspaceRequest request)
    {
        await daemon.Client.CreateWorkspaceAsync(request);
        await daemon.Client.ActAndWaitAsync(request.Name, "start");
        await daemon.WaitForConsoleAsync(request.Name, "WORKSPACE-COMMANDS");
        await Wait.UntilAsync(async () => (await GuestShell.RunAsync(daemon, request.Name, "ip addr show eth0")).Contains("inet "),
            TimeSpan.FromSeconds(30), $"{request.Name} getting an address");
    }
}
