namespace Workspaces.Daemon.Playgrounds;

/// <summary>Placement hints: spread members over hosts, or keep them to the named peers.</summary>
public sealed record PlaygroundPlacement(bool Spread, IReadOnlyList<string> On, int Line = 0);
