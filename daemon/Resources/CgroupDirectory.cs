using Workspaces.Daemon.Core;
namespace Workspaces.Daemon.Resources;

/// <summary>Removing a cgroup: rmdir fails while a task is still in it, and an exiting QEMU may take a moment to go.</summary>
internal static class CgroupDirectory
{
    public static Task RemoveAsync(string group) => Poll.WaitUntilAsync(() => TryRemove(group), TimeSpan.FromSeconds(1));

    private static bool TryRemove(string group)
    {
        if (!Directory.Exists(group)) return true;
        try
        {
            Directory.Delete(group);
            return true;
        }
        catch (IOException)
        {
            return false; // EBUSY: a task is still in it
        }
    }

    /// <summary>A "key value" line of a cgroup file (memory.events, memory.oom_control); null if the file or key is absent.</summary>
    public static long? ReadCounter(string file, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
                if (line.Split(' ') is [var k, var v] && k == key && long.TryParse(v, out long n)) return n;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No such file (the group is gone, or this controller is not mounted) or not ours to read: no count.
        }
        return null;
    }

    /// <summary>Null if groups can be made under parent/workspaces (made, then removed, to be sure); else why not.</summary>
    public static string? Writable(string parent)
    {
        string probe = Path.Combine(parent, "workspaces", $".probe-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(probe);
            Directory.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{Path.Combine(parent, "workspaces")}: {e.Message}";
        }
    }
}
