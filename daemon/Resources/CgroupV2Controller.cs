namespace Workspaces.Daemon.Resources;

/// <summary>
/// Limits through the unified cgroup v2 hierarchy written directly: workspaces/{id} with cpu.max,
/// cpu.weight, memory.max, pids.max and io.weight, after enabling those controllers down the tree.
/// </summary>
public sealed class CgroupV2Controller(string root, string whyNotSystemd) : IResourceController
{
    private const long Period = 100_000;
    private readonly string _parent = Path.Combine(root, "workspaces");

    public string Mode => "cgroup-v2";
    public string Reason => $"{whyNotSystemd}: workspacesd writes cgroup v2 groups itself under {root}/workspaces";

    public static bool IsAvailable(string root) =>
        File.Exists(Path.Combine(root, "cgroup.controllers"))
        && File.ReadAllText(Path.Combine(root, "cgroup.controllers")).Split(' ', '\n').Contains("cpu");

    public string? Location(string id) => "cgroup:/workspaces/" + id;

    public async Task AttachAsync(string id, string description, int pid, ResourceLimits limits, CancellationToken ct)
    {
        Directory.CreateDirectory(_parent);
        await EnableControllersAsync(root);
        await EnableControllersAsync(_parent);
        string group = Path.Combine(_parent, id);
        Directory.CreateDirectory(group);
        await UpdateAsync(id, limits, ct);
        await File.WriteAllTextAsync(Path.Combine(group, "cgroup.procs"), pid.ToString(), ct);
    }

    private static async Task EnableControllersAsync(string group)
    {
        var available = (await File.ReadAllTextAsync(Path.Combine(group, "cgroup.controllers"))).Split(' ', '\n', StringSplitOptions.RemoveEmptyEntries);
        var wanted = new[] { "cpu", "memory", "pids", "io" }.Where(available.Contains).Select(c => "+" + c);
        await File.WriteAllTextAsync(Path.Combine(group, "cgroup.subtree_control"), string.Join(' ', wanted));
    }

    public async Task UpdateAsync(string id, ResourceLimits limits, CancellationToken ct)
    {
        string group = Path.Combine(_parent, id);
        await Write(group, "cpu.max", limits.CpuQuotaPercent is { } q ? $"{q * Period / 100} {Period}" : $"max {Period}");
        await Write(group, "cpu.weight", (limits.CpuWeight ?? 100).ToString());
        await Write(group, "memory.max", limits.MemoryMaxBytes.ToString());
        await Write(group, "pids.max", limits.TasksMax?.ToString() ?? "max");
        if (limits.IoWeight is { } w && File.Exists(Path.Combine(group, "io.weight"))) await Write(group, "io.weight", w.ToString());
    }

    private static Task Write(string group, string file, string value) => File.WriteAllTextAsync(Path.Combine(group, file), value);

    public long? OutOfMemoryKills(string id) =>
        CgroupDirectory.ReadCounter(Path.Combine(_parent, id, "memory.events"), "oom_kill");

    public Task ReleaseAsync(string id) => CgroupDirectory.RemoveAsync(Path.Combine(_parent, id));
}
