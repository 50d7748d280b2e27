using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Images;

/// <summary>
/// qemu-img failed on a request that was itself fine: the host could not do it now. The status says
/// what kind of trouble (507 no space, 503 otherwise) and the message keeps qemu-img's own last line.
/// </summary>
public sealed class QemuImgException(int status, string title, string message) : WorkspacesException(status, title, message)
{
    public static QemuImgException From(string what, string stderr)
    {
        string line = QemuImg.LastLine(stderr);
        if (line.Contains("No space left on device", StringComparison.Ordinal))
            return new(507, "Insufficient storage", $"{what} failed: the disk is full ({line}); free space (ws image prune) and try again");
        if (IsCoarseCpuClock(stderr))
            return new(503, "Service unavailable", $"{what} failed: qemu-img could not time its key derivation on this host's CPU clock ({line}); try again");
        return new(503, "Service unavailable", $"{what} failed: {line}");
    }

    public static bool IsCoarseCpuClock(string stderr) => stderr.Contains("Unable to get accurate CPU usage", StringComparison.Ordinal);
}
