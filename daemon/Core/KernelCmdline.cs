using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Core;

/// <summary>A kernel command line (an image's default or a workspace's own): bounded (the kernel truncates at 2048 bytes) and one line of printable text.</summary>
public static class KernelCmdline
{
    /// <summary>x86's COMMAND_LINE_SIZE less room for what the daemon appends (console, ip=).</summary>
    public const int MaxLength = 1536;

    public static void Check(string? cmdline)
    {
        if (cmdline is null) return;
        if (cmdline.Length > MaxLength) throw WorkspacesException.BadRequest($"the kernel command line is {cmdline.Length} characters; at most {MaxLength} fit");
        if (cmdline.Any(c => char.IsControl(c) || c > '~')) throw WorkspacesException.BadRequest("the kernel command line must be printable ASCII on one line");
    }
}
