using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Processes;

/// <summary>
/// An external tool failed, or could not be started: which tool, its exit code (null when it never
/// ran) and the last line it wrote to stderr. The request itself was fine, the host could not do it
/// now: 503 unless a subclass knows better (QemuImgException: 507 for a full disk, 422 for a file
/// that is no image). Domain exceptions that are not about one tool (NetworkException,
/// HypervisorException) carry it as their inner exception instead.
/// </summary>
public class CommandException(string tool, int? exitCode, string lastLine, string message,
    int status = 503, string title = "Service unavailable")
    : WorkspacesException(status, title, message)
{
    /// <summary>The tool's file name ("qemu-img", "dnsmasq", "ip", "setpriv").</summary>
    public string Tool { get; } = tool;

    /// <summary>Its exit code; null if it could not be started at all.</summary>
    public int? ExitCode { get; } = exitCode;

    /// <summary>The last non-empty line of its stderr (or why it could not start).</summary>
    public string LastLine { get; } = lastLine;
}
