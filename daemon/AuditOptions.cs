using System.ComponentModel.DataAnnotations;

namespace Workspaces.Daemon;

/// <summary>
/// `audit` in the config: the hash-chained log under {state}/audit (one JSON-lines file per UTC day), its
/// checkpoints, retention, and the copy of each record in the journal.
/// </summary>
public sealed class AuditOptions
{
    /// <summary>Off: no records at all (the benchmark's baseline; a host that must not keep them).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>A checkpoint (the chain head signed with the host key) after this many records...</summary>
    [Range(1, 1_000_000)]
    public int CheckpointEveryRecords { get; set; } = 1000;

    /// <summary>...or this long after the first record it does not yet cover.</summary>
    [Range(0.1, 3600)]
    public double CheckpointEverySeconds { get; set; } = 60;

    /// <summary>Day files older than this are removed (the chain carries on: the oldest kept record names the hash of the last removed one).</summary>
    [Range(1, 36500)]
    public int RetentionDays { get; set; } = 365;

    /// <summary>And the oldest are removed while all of them together are larger than this (the current day's file is always kept).</summary>
    [Range(1024, long.MaxValue)]
    public long RetentionBytes { get; set; } = 1L << 30;

    /// <summary>"auto": each record also goes to the journal when the daemon runs under systemd; "on", "off".</summary>
    [RegularExpression(@"\A(auto|on|off)\z", ErrorMessage = "audit.journal must be auto, on or off")]
    public string Journal { get; set; } = "auto";

    /// <summary>journald's native protocol socket (a datagram socket).</summary>
    public string JournalSocket { get; set; } = "/run/systemd/journal/socket";
}
