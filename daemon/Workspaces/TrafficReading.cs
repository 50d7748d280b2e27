using Workspaces.Daemon.Network;

namespace Workspaces.Daemon.Workspaces;

/// <summary>A workspace's counters as last read, and when.</summary>
public sealed record TrafficReading(TrafficCounters Counters, DateTimeOffset At);
