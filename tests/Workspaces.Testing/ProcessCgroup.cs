namespace Workspaces.Testing;

/// <summary>
/// Where the kernel says a process's cgroup is, whoever made it (workspacesd writing cgroupfs itself,
/// or systemd's workspace-ID.scope): the process's line in /proc/PID/cgroup joined to the mount point
/// of that hierarchy from /proc/self/mountinfo. Cgroup v1 (a hierarchy per controller) and v2 (one
/// unified hierarchy) alike. Directory is where the group is on this host, Path the group as
/// /proc/PID/cgroup names it (e.g. /workspaces/ID or /system.slice/workspace-ID.scope).
/// </summary>
public sealed record ProcessCgroup(string Directory, string Path, int Version)
{
    /// <summary>The group of PID in the hierarchy that holds CONTROLLER (cpu, cpuacct, memory, ...): the v1 one if a v1 hierarchy has it, else the unified one.</summary>
    public static ProcessCgroup Of(int pid, string controller)
    {
        var lines = File.ReadAllLines($"/proc/{pid}/cgroup").Select(l => l.Split(':', 3)).ToList();
        var mounts = File.ReadAllLines("/proc/self/mountinfo").Select(Mount.Parse).ToList();

        // v1: "4:cpu,cpuacct:/workspaces/ID"; the hierarchy is mounted with the controller in its super options.
        if (lines.FirstOrDefault(l => l[0] != "0" && l[1].Split(',').Contains(controller)) is { } v1
            && mounts.FirstOrDefault(m => m.Type == "cgroup" && m.SuperOptions.Contains(controller)) is { } v1Mount)
            return new ProcessCgroup(Join(v1Mount, v1[2]), v1[2], 1);

        // v2: "0::/machine.slice/workspace-ID.scope", under the cgroup2 mount (whose controllers include this one).
        if (lines.FirstOrDefault(l => l[0] == "0" && l[1] == "") is { } v2
            && mounts.FirstOrDefault(m => m.Type == "cgroup2") is { } v2Mount)
        {
            string dir = Join(v2Mount, v2[2]);
            string controllers = File.ReadAllText(System.IO.Path.Combine(dir, "cgroup.controllers"));
            if (controllers.Split(' ', '\n').Contains(controller)) return new ProcessCgroup(dir, v2[2], 2);
        }
        throw new InvalidOperationException(
            $"process {pid} is in no cgroup hierarchy with the {controller} controller:\n{string.Join('\n', lines.Select(l => string.Join(':', l)))}");
    }

    /// <summary>A cgroup file's whole content, trimmed.</summary>
    public string Read(string file) => File.ReadAllText(System.IO.Path.Combine(Directory, file)).Trim();

    /// <summary>The group's memory limit as the kernel holds it, in bytes (v1 memory.limit_in_bytes, v2 memory.max).</summary>
    public long MemoryLimit => long.Parse(Read(Version == 1 ? "memory.limit_in_bytes" : "memory.max"));

    /// <summary>The group's CPU quota as the kernel holds it: (quota µs, period µs) per period, null quota for none.</summary>
    public (long? Quota, long Period) CpuQuota
    {
        get
        {
            if (Version == 2)
            {
                var f = Read("cpu.max").Split(' ');
                return (f[0] == "max" ? null : long.Parse(f[0]), long.Parse(f[1]));
            }
            long quota = long.Parse(Read("cpu.cfs_quota_us"));
            return (quota < 0 ? null : quota, long.Parse(Read("cpu.cfs_period_us")));
        }
    }

    /// <summary>CPU time the group has used, in nanoseconds (v1 cpuacct.usage, v2 cpu.stat usage_usec).</summary>
    public long CpuUsageNanoseconds =>
        Version == 1
            ? long.Parse(Read("cpuacct.usage"))
            : long.Parse(File.ReadLines(System.IO.Path.Combine(Directory, "cpu.stat")).First(l => l.StartsWith("usage_usec ", StringComparison.Ordinal)).Split(' ')[1]) * 1000;

    /// <summary>How many CFS periods the group has had runnable tasks in, and in how many of them its quota ran out (cpu.stat, v1 and v2 alike).</summary>
    public (long Periods, long Throttled) CpuPeriods
    {
        get
        {
            var stat = File.ReadLines(System.IO.Path.Combine(Directory, "cpu.stat")).Select(l => l.Split(' ')).ToDictionary(f => f[0], f => long.Parse(f[1]));
            return (stat["nr_periods"], stat["nr_throttled"]);
        }
    }

    /// <summary>A path in the process's cgroup namespace, under the mount whose root is a prefix of it.</summary>
    private static string Join(Mount mount, string path)
    {
        string rest = mount.Root == "/" ? path : path.StartsWith(mount.Root, StringComparison.Ordinal) ? path[mount.Root.Length..]
            : throw new InvalidOperationException($"cgroup {path} is outside the mount of {mount.Root} at {mount.Point}");
        return System.IO.Path.Join(mount.Point, rest.TrimStart('/'));
    }

    /// <summary>One line of /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - TYPE SOURCE SUPEROPTIONS".</summary>
    private sealed record Mount(string Root, string Point, string Type, string[] SuperOptions)
    {
        public static Mount Parse(string line)
        {
            var f = line.Split(' ');
            int dash = Array.IndexOf(f, "-");
            return new Mount(Unescape(f[3]), Unescape(f[4]), f[dash + 1], f.Length > dash + 3 ? f[dash + 3].Split(',') : []);
        }

        private static string Unescape(string s) => s.Replace("\\040", " ").Replace("\\011", "\t").Replace("\\012", "\n").Replace("\\134", "\\");
    }
}
