namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// One member a document asks for: its workspace name, its role and its index in that role (from 1);
/// once placed, the peer that is to hold it (null: this host), and the image fingerprint that host
/// must pull first when it lacks the role's image (null: it has it).
/// </summary>
public sealed record PlaygroundMember(string Name, PlaygroundRole Role, int Index, string? Host = null, string? Pull = null)
{
    /// <summary>What the member is made from: the fingerprint its host pulls, else the role's image.</summary>
    public string Reference => Pull ?? Role.Reference;
}
