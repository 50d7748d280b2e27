namespace Workspaces.Daemon.Resources;

/// <summary>Removing a cgroup: rmdir fails while a task is still in it, and an exiting QEMU may take a moment to go.</summary>
internal static class CgroupDirectory
{
    public static async Task RemoveAsync(string group)
    {
        for (int i = 0; i < 20 && Directory.Exists(group); i++)
        {
            try { Directory.Delete(group); }
            catch (IOException) { await Task.Delay(50); }
        }
    }
}
