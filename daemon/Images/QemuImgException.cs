using Workspaces.Daemon.Processes;

namespace Workspaces.Daemon.Images;

/// <summary>
/// qemu-img failed. On a request that was itself fine the host could not do it now: the status says
/// what kind of trouble (507 no space, 503 otherwise). On a file that is no (sound) image, 422.
/// The message keeps qemu-img's own last line; the exit code and tool are those of CommandException.
/// </summary>
public sealed class QemuImgException(int status, string title, string message, CommandResult result)
    : CommandException(result.Tool, result.ExitCode, result.LastErrorLine, message, status, title)
{
    public static QemuImgException From(string what, CommandResult result)
    {
        string line = result.LastErrorLine;
        if (line.Contains("No space left on device", StringComparison.Ordinal))
            return new(507, "Insufficient storage", $"{what} failed: the disk is full ({line}); free space (ws image prune) and try again", result);
        if (IsCoarseCpuClock(result.Stderr))
            return new(503, "Service unavailable", $"{what} failed: qemu-img could not time its key derivation on this host's CPU clock ({line}); try again", result);
        return new(503, "Service unavailable", $"{what} failed: {line}", result);
    }

    /// <summary>The file is not one qemu-img can use: 422, as WorkspacesException.Unprocessable (detail: what qemu-img found, else its last line).</summary>
    public static QemuImgException Unprocessable(string what, CommandResult result, string? detail = null) =>
        new(422, "Unprocessable image", $"{what}: {detail ?? result.LastErrorLine}", result);

    public static bool IsCoarseCpuClock(string stderr) => stderr.Contains("Unable to get accurate CPU usage", StringComparison.Ordinal);
}
