namespace Workspaces.Client;

/// <summary>
/// GET /v1/workspaces/NAME/traffic: what the workspace's traffic policy dropped, as counted in nftables
/// since the workspace was last started (packets), and its quarantine if it is in one.
/// </summary>
/// <param name="Spoofed">Frames dropped by anti-spoofing (another MAC, IPv4 source or ARP sender address).</param>
/// <param name="EgressRefused">Packets refused by the egress allowlist.</param>
/// <param name="RateDropped">Packets dropped by the rate limit.</param>
/// <param name="ReadAt">When the counters were last read (null: not yet, or the workspace is not running).</param>
public sealed record TrafficInfo(string Workspace, long Spoofed, long EgressRefused, long RateDropped, DateTimeOffset? ReadAt, QuarantineInfo? Quarantine);

/// <summary>A quarantine: isolate (only its gateway and DHCP), pause or stop; why, since when, by the policy or by hand.</summary>
public sealed record QuarantineInfo(string Action, string Reason, DateTimeOffset Since, bool ByPolicy, uint ActorUid);

/// <summary>POST /v1/workspaces/NAME/quarantine: Action defaults to isolate.</summary>
public sealed record QuarantineRequest(string? Action = null, string? Reason = null);
