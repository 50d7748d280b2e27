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

    /// <summary>
    /// The guest pings its gateway (its packets pass its host's anti-spoofing rules, and the replies QEMU's receive
    /// filter); the gateway's neighbour entry for the guest's address then holds the MAC that answered on the wire.
    /// </summary>
    public static async Task AssertAnswersAsync(DaemonProcess daemon, NetNamespace host, string name, string gateway, string address, string mac)
    {
        await GuestShell.RunAsync(daemon, name, $"ping -c 2 -W 3 {gateway}");
        var neighbour = await host.RunAsync("ip", "neigh", "show", address);
        if (!neighbour.Stdout.Contains($"lladdr {mac.ToLowerInvariant()}", StringComparison.Ordinal))
            throw new InvalidOperationException($"{name} did not answer from {address} with MAC {mac}: the gateway's neighbour table says '{neighbour.Stdout.Trim()}'");
    }
}
