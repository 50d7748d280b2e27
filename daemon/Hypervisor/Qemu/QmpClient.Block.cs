using System.Text.Json.Nodes;

namespace Workspaces.Daemon.Hypervisor.Qemu;

// Secrets, block nodes and devices: how a sealed disk is opened after QEMU has started.
public sealed partial class QmpClient
{
    /// <summary>object-add secret: a value QEMU keeps in memory for other objects to name (here, a LUKS passphrase).</summary>
    public Task AddSecretAsync(string id, string data, CancellationToken ct) =>
        ExecuteAsync("object-add", new JsonObject { ["qom-type"] = "secret", ["id"] = id, ["data"] = data }, ct);

    /// <summary>blockdev-add: opens a block node graph (a format over a file, and its backing chain).</summary>
    public Task BlockdevAddAsync(JsonObject node, CancellationToken ct) => ExecuteAsync("blockdev-add", node, ct);

    /// <summary>device_add: plugs a device (into a hotplug-capable port).</summary>
    public Task DeviceAddAsync(JsonObject device, CancellationToken ct) => ExecuteAsync("device_add", device, ct);

    /// <summary>blockdev-del: closes a block node (and the nodes opened inline with it); it must no longer be in use by a device.</summary>
    public Task BlockdevDelAsync(string nodeName, CancellationToken ct) =>
        ExecuteAsync("blockdev-del", new JsonObject { ["node-name"] = nodeName }, ct);

    /// <summary>device_del: asks for a device to be unplugged; the guest must cooperate, and DEVICE_DELETED says when it has.</summary>
    public Task DeviceDelAsync(string id, CancellationToken ct) => ExecuteAsync("device_del", new JsonObject { ["id"] = id }, ct);

    /// <summary>query-block: the qdev paths of the devices that have a block backend (e.g. /machine/peripheral/ID/virtio-backend).</summary>
    public async Task<IReadOnlyList<string>> BlockDevicePathsAsync(CancellationToken ct)
    {
        var result = await ExecuteAsync("query-block", null, ct);
        return result.EnumerateArray()
            .Select(b => b.TryGetProperty("qdev", out var q) ? q.GetString() : null)
            .OfType<string>().ToList();
    }

    /// <summary>getfd: hands QEMU an open descriptor under a name (the descriptor travels with the command).</summary>
    public Task GetFdAsync(string name, System.Runtime.InteropServices.SafeHandle descriptor, CancellationToken ct) =>
        ExecuteAsync("getfd", new JsonObject { ["fdname"] = name }, ct, descriptor);

    /// <summary>netdev_add of a tap QEMU was handed by getfd.</summary>
    public Task NetdevAddTapAsync(string id, string fdName, CancellationToken ct) =>
        ExecuteAsync("netdev_add", new JsonObject { ["type"] = "tap", ["id"] = id, ["fd"] = fdName }, ct);
}
