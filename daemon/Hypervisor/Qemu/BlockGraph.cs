using Workspaces.Daemon.Core;
using System.Text.Json.Nodes;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// The blockdev-add argument for a disk chain: every layer spelled out with its file, its secret
/// when sealed, and its backing, so QEMU never follows a header's backing name on its own and
/// every sealed layer opens with the one lineage secret. Layers under the top are read-only.
/// </summary>
public static class BlockGraph
{
    public static JsonObject Build(DiskChain chain, string nodeName, string secretId) => Layer(chain.Layers, 0, nodeName, secretId);

    private static JsonObject Layer(IReadOnlyList<DiskLayer> layers, int index, string? nodeName, string secretId)
    {
        var layer = layers[index];
        bool readOnly = index > 0;
        var node = new JsonObject
        {
            ["driver"] = layer.Format,
            ["read-only"] = readOnly,
            ["file"] = new JsonObject { ["driver"] = "file", ["filename"] = layer.Path, ["read-only"] = readOnly },
        };
        if (nodeName is not null) node["node-name"] = nodeName;
        if (layer.Encrypted) node["encrypt"] = new JsonObject { ["format"] = "luks", ["key-secret"] = secretId };
        if (layer.Format == "qcow2")
            node["backing"] = index + 1 < layers.Count ? Layer(layers, index + 1, null, secretId) : null;
        return node;
    }
}
