namespace Workspaces.Daemon.Workspaces;

/// <summary>How a move ended, as each side records it with the ticket's hash.</summary>
public static class MigrationOutcome
{
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";
    public const string Refused = "Refused";

    /// <summary>The link died after the switch-over began: the source stays paused, zero copies run, an operator recovers.</summary>
    public const string Unknown = "Unknown";
}
