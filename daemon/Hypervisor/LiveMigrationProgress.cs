namespace Workspaces.Daemon.Hypervisor;

/// <summary>Where a live migration is: Phase is "disk" (mirror bulk copy), "ram", "switchover" or "done"; Stats from the last query-migrate.</summary>
public sealed record LiveMigrationProgress(string Phase, long DiskCopied, long DiskTotal, MigrationStats? Stats);
