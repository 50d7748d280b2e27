namespace Workspaces.Daemon.State;

/// <summary>One row of the images table.</summary>
public sealed class ImageRow
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Kind { get; set; } = "";
    public string? Disk { get; set; }
    public string? DiskFormat { get; set; }
    public long? DiskVirtualSize { get; set; }
    public string? Kernel { get; set; }
    public string? Initrd { get; set; }
    public string? Cmdline { get; set; }
    public long Size { get; set; }
    public long CreatedAt { get; set; }
    public string? Parent { get; set; }
    public string Tags { get; set; } = "";
    public string? OriginWorkspace { get; set; }
    public string? OriginHost { get; set; }
    public string? OriginHostKey { get; set; }
    public bool Encrypted { get; set; }
    /// <summary>A template's RAM and device state (a blob like the disk), its format, and the shape it was saved with.</summary>
    public string? State { get; set; }
    public string? StateFormat { get; set; }
    public int? StateMemoryMib { get; set; }
    public int? StateVcpus { get; set; }

    public IEnumerable<string> Blobs => new[] { Disk, Kernel, Initrd, State }.OfType<string>();

    public string[] TagList => Tags.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
