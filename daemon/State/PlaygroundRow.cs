namespace Workspaces.Daemon.State;

/// <summary>A playground: its name (also its network's), its owner and the document last applied.</summary>
public sealed class PlaygroundRow
{
    public string Name { get; set; } = "";
    public uint Owner { get; set; }
    public string Document { get; set; } = "";
    /// <summary>The members' shared SSH key: the public key (OpenSSH), the private key sealed to this host's key (base64).</summary>
    public string SshPublic { get; set; } = "";
    public string SshSealed { get; set; } = "";
    /// <summary>Unix milliseconds.</summary>
    public long CreatedAt { get; set; }
    public long AppliedAt { get; set; }
}
