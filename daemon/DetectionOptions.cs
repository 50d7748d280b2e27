using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Workspaces.Daemon;

/// <summary>
/// Detection and the right to take action (`detection` in the config): how often the violation
/// counters are read, and what is done to a workspace whose violations pass a threshold within a
/// window. Networks may override the policy (Networks).
/// </summary>
public sealed class DetectionOptions
{
    /// <summary>How often every workspace's counters are read (one nftables call); also the interval a rise is reported per.</summary>
    [Range(0.2, 3600)]
    public double IntervalSeconds { get; set; } = 2;

    /// <summary>The host's policy; a network named in Networks overrides any of its fields.</summary>
    [ValidateObjectMembers]
    public DetectionPolicy Policy { get; set; } = new();

    /// <summary>Per-network overrides of Policy.</summary>
    [ValidateEnumeratedItems]
    public DetectionOverride[] Networks { get; set; } = [];

    /// <summary>The policy for a network: the host's, with the network's override on top.</summary>
    public DetectionPolicy For(string network) =>
        Networks.FirstOrDefault(n => n.Network == network) is { } o
            ? new DetectionPolicy { Action = o.Action ?? Policy.Action, Threshold = o.Threshold ?? Policy.Threshold, WindowSeconds = o.WindowSeconds ?? Policy.WindowSeconds }
            : Policy;
}
