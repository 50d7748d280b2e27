namespace Workspaces.Daemon;

/// <summary>The machine's memory, from /proc/meminfo.</summary>
public static class HostMemory
{
    public static long TotalMiB()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
    }
}
