namespace Workspaces.Daemon.Core;

/// <summary>
/// A disk as QEMU must open it: the top file, then each backing file down to the base, each saying
/// whether it is sealed. Sealed layers open with the lineage's one secret.
/// </summary>
public sealed record DiskChain(IReadOnlyList<DiskLayer> Layers)
{
    /// <summary>This chain with another layer on top (a workspace's overlay on its image's chain).</summary>
    public DiskChain On(DiskLayer top) => new([top, .. Layers]);

    public bool Sealed => Layers.Any(l => l.Encrypted);

    /// <summary>qemu-img --image-opts for the top layer, naming the secret for every sealed layer below it.</summary>
    public string ImageOpts(string secretId)
    {
        var options = new List<string>();
        string prefix = "";
        foreach (var layer in Layers)
        {
            options.Add($"{prefix}driver={layer.Format}");
            options.Add($"{prefix}file.filename={layer.Path.Replace(",", ",,")}");
            if (layer.Encrypted) options.Add($"{prefix}encrypt.key-secret={secretId}");
            prefix += "backing.";
        }
        return string.Join(',', options);
    }
}

/// <summary>One file of a disk chain.</summary>
public sealed record DiskLayer(string Path, string Format, bool Encrypted);
