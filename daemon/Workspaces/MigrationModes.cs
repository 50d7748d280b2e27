namespace Workspaces.Daemon.Workspaces;

/// <summary>The kinds of move: cold (stopped), stateful (RAM saved, moved, restored), live (copied while it runs).</summary>
public static class MigrationModes
{
    public const string Cold = "cold";
    public const string Stateful = "stateful";
    public const string Live = "live";

    public static readonly string[] All = [Cold, Stateful, Live];
}
