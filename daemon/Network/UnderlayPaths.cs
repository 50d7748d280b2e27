using System.Net;
using Workspaces.Daemon.Processes;

namespace Workspaces.Daemon.Network;

/// <summary>
/// The underlay's MTU toward a peer: the MTU of the route the kernel takes to its address (a route's
/// own "mtu" when it has one, else its device's). What a spanning network's MTU is decided from:
/// each host says what it has toward the others, and the span takes the smallest.
/// </summary>
public sealed class UnderlayPaths(CommandRunner runner)
{
    /// <summary>The MTU toward an address; DefaultUnderlayMtu when the route cannot be read (the usual Ethernet, never larger than it should be).</summary>
    public async Task<int> MtuTowardAsync(IPAddress address, CancellationToken ct)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var result = await runner.RunAsync("ip", ["-o", "route", "get", address.ToString()], ct);
        if (!result.Succeeded) return SpanPath.DefaultUnderlayMtu;
        var (device, routeMtu) = ParseRoute(result.Stdout);
        if (routeMtu is { } mtu) return mtu;
        return device is not null && int.TryParse(ReadOrNull($"/sys/class/net/{device}/mtu"), out int deviceMtu)
            ? deviceMtu : SpanPath.DefaultUnderlayMtu;
    }

    /// <summary>The device and the route's own MTU (`mtu N` or `mtu lock N`) of one line of `ip -o route get`.</summary>
    public static (string? Device, int? Mtu) ParseRoute(string stdout)
    {
        var words = stdout.Split([' ', '\t', '\n', '\\'], StringSplitOptions.RemoveEmptyEntries);
        string? device = null;
        int? mtu = null;
        for (int i = 0; i + 1 < words.Length; i++)
        {
            if (words[i] == "dev" && device is null) device = words[i + 1];
            if (words[i] == "mtu")
            {
                string value = words[i + 1] == "lock" && i + 2 < words.Length ? words[i + 2] : words[i + 1];
                if (int.TryParse(value, out int m) && m > 0) mtu = m;
            }
        }
        // A device name is a path component below: nothing that could climb out of /sys/class/net.
        if (device is not null && (device.Contains('/') || device.StartsWith('.'))) device = null;
        return (device, mtu);
    }

    private static string? ReadOrNull(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
