namespace Workspaces.Daemon.Core;

/// <summary>Reads /proc: whether a pid is a live process (a zombie is not) and what its command line says.</summary>
public static class ProcessTable
{
    public static bool IsAlive(int pid)
    {
        if (pid <= 0) return false;
        try
        {
            // /proc/PID/stat: "pid (comm) S ..."; comm may hold spaces or parentheses, so find the last ')'.
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] != 'Z' && stat[close + 2] != 'X';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The process's arguments, or null if it is gone.</summary>
    public static string[]? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Live processes whose arguments satisfy the test (e.g. every dnsmasq naming one pid file).</summary>
    public static IEnumerable<int> Find(Func<string[], bool> matches)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), out int pid) && CommandLine(pid) is { Length: > 0 } args && matches(args) && IsAlive(pid))
                yield return pid;
    }
}
