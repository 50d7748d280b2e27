using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Api;

/// <summary>The sizes the API accepts, in one place.</summary>
public static class ApiLimits
{
    /// <summary>Any JSON request body (the largest real one, a create with an egress list, is a few KiB).</summary>
    public const long MaxJsonBody = 1 << 20;

    /// <summary>A text field of a multipart image upload (name, cmdline, tags).</summary>
    public const int MaxFormField = 64 << 10;

    /// <summary>The longest a caller may ask the daemon to wait for something: a day.</summary>
    public const double MaxWaitSeconds = 86400;

    /// <summary>A ?timeout= in seconds as a TimeSpan: finite, not negative, at most a day.</summary>
    public static TimeSpan? Seconds(double? seconds, string what) => seconds switch
    {
        null => null,
        { } s when double.IsFinite(s) && s is >= 0 and <= MaxWaitSeconds => TimeSpan.FromSeconds(s),
        _ => throw WorkspacesException.BadRequest($"{what} must be a number of seconds from 0 to {MaxWaitSeconds}, not {seconds}"),
    };
}
