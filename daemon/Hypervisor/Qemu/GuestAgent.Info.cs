using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workspaces.Daemon.Hypervisor.Qemu;

// What the guest says about itself, and asking it to shut down.
public sealed partial class GuestAgent
{
    /// <summary>guest-ping: returns when an agent answers (GuestAgentUnavailableException when none does in time).</summary>
    public Task PingAsync(TimeSpan timeout, CancellationToken ct) => ExecuteAsync("guest-ping", null, timeout, ct);

    /// <summary>guest-get-osinfo: the guest's os-release and kernel, as far as it knows them.</summary>
    public async Task<GuestOsInfo> OsInfoAsync(CancellationToken ct, TimeSpan? timeout = null)
    {
        var r = await ExecuteAsync("guest-get-osinfo", null, timeout ?? DefaultTimeout, ct);
        return new GuestOsInfo(Text(r, "id"), Text(r, "name"), Text(r, "pretty-name"), Text(r, "version-id"),
            Text(r, "kernel-release"), Text(r, "machine"));
    }

    /// <summary>guest-network-get-interfaces: each interface with its MAC and IP addresses.</summary>
    public async Task<IReadOnlyList<GuestInterface>> NetworkInterfacesAsync(CancellationToken ct, TimeSpan? timeout = null)
    {
        var r = await ExecuteAsync("guest-network-get-interfaces", null, timeout ?? DefaultTimeout, ct);
        var interfaces = new List<GuestInterface>();
        foreach (var i in r.EnumerateArray())
        {
            var addresses = new List<GuestAddress>();
            if (i.TryGetProperty("ip-addresses", out var list))
                foreach (var a in list.EnumerateArray())
                    addresses.Add(new GuestAddress(Text(a, "ip-address-type") ?? "", Text(a, "ip-address") ?? "",
                        a.TryGetProperty("prefix", out var p) ? p.GetInt32() : 0));
            interfaces.Add(new GuestInterface(Text(i, "name") ?? "", Text(i, "hardware-address"), addresses));
        }
        return interfaces;
    }

    /// <summary>
    /// guest-shutdown: the guest shuts itself down ("powerdown", "halt" or "reboot"). The agent sends
    /// no answer when it complies; an error (no shutdown command in the guest) is still reported.
    /// </summary>
    public Task ShutdownAsync(string mode, CancellationToken ct, TimeSpan? timeout = null) =>
        SendWithoutAnswerAsync("guest-shutdown", new JsonObject { ["mode"] = mode }, timeout ?? TimeSpan.FromSeconds(5), ct);

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
