using Workspaces.Client;

namespace Workspaces.Daemon.Federation;

/// <summary>How a peer was at its last check: reachable or not and since when, what it had free, how quickly it answered.</summary>
public sealed record PeerStatus(bool Reachable, DateTimeOffset Since, double? RoundTripMs, PeerHostSummary? Summary, string? Error)
{
    public static readonly PeerStatus Unknown = new(false, DateTimeOffset.MinValue, null, null, "not checked yet");
}
