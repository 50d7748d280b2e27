namespace Workspaces.Daemon.Network;

/// <summary>What one workspace's traffic policy dropped, in packets, as its named nftables counters say.</summary>
public sealed record TrafficCounters(long Spoofed, long EgressRefused, long RateDropped)
{
    public static readonly TrafficCounters Zero = new(0, 0, 0);

    public long Total => Spoofed + EgressRefused + RateDropped;

    /// <summary>The rise since an earlier reading; a counter that went down was made anew (the workspace restarted): all of it is new.</summary>
    public TrafficCounters Since(TrafficCounters earlier) => new(
        Rise(Spoofed, earlier.Spoofed), Rise(EgressRefused, earlier.EgressRefused), Rise(RateDropped, earlier.RateDropped));

    private static long Rise(long now, long before) => now >= before ? now - before : now;
}
