namespace Workspaces.Daemon.Processes;

/// <summary>How commands and their output read in logs and messages.</summary>
internal static class CommandText
{
    private const int TailLines = 5, TailChars = 1000;

    /// <summary>The command as a person would type it: each argument quoted where a shell would need it (for reading only; nothing runs it through a shell).</summary>
    public static string Display(string file, IEnumerable<string> arguments) =>
        string.Join(' ', arguments.Prepend(file).Select(Quote));

    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c))
            ? argument
            : "'" + argument.Replace("'", "'\\''") + "'";

    public static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no message";

    public static string FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "no message";

    /// <summary>The last few lines of stderr, joined with " | ", at most TailChars long; "" when there were none.</summary>
    public static string Tail(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string tail = string.Join(" | ", lines.TakeLast(TailLines));
        return tail.Length <= TailChars ? tail : "..." + tail[^TailChars..];
    }
}
