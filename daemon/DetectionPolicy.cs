using System.ComponentModel.DataAnnotations;

namespace Workspaces.Daemon;

/// <summary>When Threshold violations (dropped packets, all kinds together) are counted within WindowSeconds, Action is taken.</summary>
public sealed class DetectionPolicy
{
    /// <summary>none (only count and report), isolate, pause or stop.</summary>
    [RegularExpression(@"\A(none|isolate|pause|stop)\z", ErrorMessage = "detection action must be none, isolate, pause or stop")]
    public string Action { get; set; } = "none";

    [Range(1, long.MaxValue)]
    public long Threshold { get; set; } = 100;

    [Range(1, 86400)]
    public double WindowSeconds { get; set; } = 60;
}
