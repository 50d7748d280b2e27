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

    /// <summary>getfd: hands QEMU an open descriptor under a name (the descriptor travels with the command).</summary>
    public Task GetFdAsync(string name, System.Runtime.InteropServices.SafeHandle descriptor, CancellationToken ct) =>
        ExecuteAsync("getfd", new JsonObject { ["fdname"] = name }, ct, descriptor);

    /// <summary>netdev_add of a tap QEMU was handed by getfd.</summary>
    public Task NetdevAddTapAsync(string id, string fdName, CancellationToken ct) =>
        ExecuteAsync("netdev_add", new JsonObject { ["type"] = "tap", ["id"] = id, ["fd"] = fdName }, ct);
}
