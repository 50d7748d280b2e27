namespace Workspaces.Daemon.State;

/// <summary>One data disk of a workspace: a qcow2 in its directory, blank or an overlay of an image's disk.</summary>
public sealed class DataDiskRow
{
    public const string Blank = "blank";
    public const string FromImage = "image";

    public string WorkspaceId { get; set; } = "";
    public string Name { get; set; } = "";
    public string Kind { get; set; } = Blank;
    public long Size { get; set; }
    public string? ImageId { get; set; }
    public string Serial { get; set; } = "";
    public int Position { get; set; }
    /// <summary>Encrypted (LUKS in the qcow2) with the workspace's lineage key: a sealed workspace's data disks are all sealed.</summary>
    public bool Sealed { get; set; }
    public long CreatedAt { get; set; }
}
