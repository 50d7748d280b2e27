namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// The phases of a move, after libvirt's v3 protocol (DESIGN.md §8): Begin (source), Prepare
/// (destination), Perform (source), Finish (destination: resume, or kill its copy on failure), Confirm
/// (source: delete its copy, or resume on failure). Each side writes the phase to SQLite before the phase
/// acts, so after a crash it knows what it may have done.
/// </summary>
public static class MigrationPhase
{
    public const string Begin = "Begin";
    public const string Prepare = "Prepare";
    public const string Perform = "Perform";
    public const string Finish = "Finish";
    public const string Confirm = "Confirm";

    public static readonly string[] All = [Begin, Prepare, Perform, Finish, Confirm];

    public const string SourceRole = "source";
    public const string DestinationRole = "destination";
}
