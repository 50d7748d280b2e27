using System.ComponentModel.DataAnnotations;

namespace Workspaces.Daemon;

/// <summary>A network's override of the detection policy: the fields given replace the host's.</summary>
public sealed class DetectionOverride
{
    [Required]
    [RegularExpression(@"\A[a-z0-9][a-z0-9-]{0,14}\z", ErrorMessage = "detection.networks[].network must be a network name")]
    public string Network { get; set; } = "";

    [RegularExpression(@"\A(none|isolate|pause|stop)\z", ErrorMessage = "detection action must be none, isolate, pause or stop")]
    public string? Action { get; set; }

    [Range(1, long.MaxValue)]
    public long? Threshold { get; set; }

    [Range(1, 86400)]
    public double? WindowSeconds { get; set; }
}
