namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// A playground as declared: a name, a private network, placement hints and its roles. Each role
/// keeps the line it was declared on, so a check made later (an unknown image) can still name it.
/// </summary>
public sealed record PlaygroundDocument(string Name, PlaygroundNetwork Network, PlaygroundPlacement Placement, IReadOnlyList<PlaygroundRole> Roles)
{
    /// <summary>The members the document asks for, in a stable order: role by role, index 1..count.</summary>
    public IEnumerable<PlaygroundMember> Members() =>
        Roles.SelectMany(role => Enumerable.Range(1, role.Count).Select(i => new PlaygroundMember(MemberName(Name, role.Name, i), role, i)));

    /// <summary>A member's workspace name, which is also its hostname on the private network.</summary>
    public static string MemberName(string playground, string role, int index) => $"{playground}-{role}-{index}";
}
