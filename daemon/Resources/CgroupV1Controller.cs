namespace Workspaces.Daemon.Resources;

/// <summary>
/// Limits through cgroup v1 hierarchies written directly (a host without systemd, like a plain
/// container): one group per workspace under workspaces/ in the cpu, cpuacct, memory, pids and
/// blkio hierarchies. Writing a pid to cgroup.procs moves all of its threads.
/// </summary>
public sealed class CgroupV1Controller(string root, string whyNotSystemd) : IResourceController
{
    private const long Period = 100_000; // µs, the CFS default
    private static readonly string[] Hierarchies = ["cpu", "cpuacct", "memory", "pids", "blkio"];

    public string Mode => "cgroup-v1";
    public string Reason => $"{whyNotSystemd}: workspacesd writes cgroup v1 groups itself under {root}/{{cpu,cpuacct,memory,pids}}/workspaces";

    public static bool IsAvailable(string root) =>
        File.Exists(Path.Combine(root, "cpu", "cpu.cfs_quota_us")) && Directory.Exists(Path.Combine(root, "memory"));

    private string Group(string hierarchy, string id) => Path.Combine(root, hierarchy, "workspaces", id);

    public string? Location(string id) => "cgroup:/workspaces/" + id;

    public async Task AttachAsync(string id, string description, int pid, ResourceLimits limits, CancellationToken ct)
    {
        foreach (var h in Hierarchies)
            if (Directory.Exists(Path.Combine(root, h))) Directory.CreateDirectory(Group(h, id));
        await UpdateAsync(id, limits, ct);
        foreach (var h in Hierarchies)
            if (Directory.Exists(Group(h, id))) await WriteAsync(Group(h, id), "cgroup.procs", pid.ToString());
    }

    public async Task UpdateAsync(string id, ResourceLimits limits, CancellationToken ct)
    {
        string cpu = Group("cpu", id);
        await WriteAsync(cpu, "cpu.cfs_period_us", Period.ToString());
        await WriteAsync(cpu, "cpu.cfs_quota_us", limits.CpuQuotaPercent is { } q ? (q * Period / 100).ToString() : "-1");
        // cgroup v2 / systemd weight 100 is v1's 1024 shares.
        await WriteAsync(cpu, "cpu.shares", ((limits.CpuWeight ?? 100) * 1024L / 100).ToString());
        await WriteAsync(Group("memory", id), "memory.limit_in_bytes", limits.MemoryMaxBytes.ToString());
        if (Directory.Exists(Group("pids", id)))
            await WriteAsync(Group("pids", id), "pids.max", limits.TasksMax?.ToString() ?? "max");
        string blkio = Group("blkio", id);
        if (limits.IoWeight is { } w && File.Exists(Path.Combine(blkio, "blkio.weight")))
            await WriteAsync(blkio, "blkio.weight", Math.Clamp(w * 10, 10, 1000).ToString()); // v1 range 10..1000
    }

    public long? OutOfMemoryKills(string id) =>
        CgroupDirectory.ReadCounter(Path.Combine(Group("memory", id), "memory.oom_control"), "oom_kill");

    public async Task ReleaseAsync(string id)
    {
        foreach (var h in Hierarchies) await CgroupDirectory.RemoveAsync(Group(h, id));
    }

    private static Task WriteAsync(string group, string file, string value) =>
        File.WriteAllTextAsync(Path.Combine(group, file), value);
}
