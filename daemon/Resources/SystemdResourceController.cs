using Workspaces.Daemon.Core;
using Tmds.DBus.Protocol;
using Workspaces.Daemon.Systemd;

namespace Workspaces.Daemon.Resources;

/// <summary>
/// Limits through systemd: each guest's QEMU moves into its own transient scope,
/// workspace-ID.scope, carrying the spec's CPU quota and weight, MemoryMax, TasksMax and IO
/// weight, and is registered with machined as a vm. Changes go through SetUnitProperties.
/// Scopes are their own units, so guests outlive restarts of workspaces.service.
/// </summary>
public sealed class SystemdResourceController(SystemdManager systemd, MachineManager? machines) : IResourceController
{
    public string Mode => "systemd";
    public string Reason => "systemd runs the host: each guest gets a transient scope unit with its limits" +
                            (machines is null ? " (systemd-machined is absent: guests are not registered as machines)" : ", registered with systemd-machined");

    private static readonly TimeSpan MoveTimeout = TimeSpan.FromSeconds(2);

    public string? Location(string id) => $"workspace-{id}.scope";

    public async Task AttachAsync(string id, string description, int pid, ResourceLimits limits, CancellationToken ct)
    {
        string unit = Location(id)!;
        var properties = Properties(limits).Prepend(new("Description", VariantValue.String(description)))
            .Prepend(new("PIDs", VariantValue.Array(new[] { (uint)pid })))
            .Append(new("CollectMode", VariantValue.String("inactive-or-failed")))
            .ToArray();
        await systemd.StartTransientUnitAsync(unit, properties, ct);
        // StartTransientUnit answers with a job; the move is done once the process is in the scope's cgroup.
        if (!await Poll.WaitUntilAsync(() => InUnit(pid, unit), MoveTimeout, ct))
            throw new IOException($"systemd did not move QEMU (pid {pid}) into {unit} within {MoveTimeout.TotalSeconds:0} s");
        // The machine's name is host-wide too: "ws-ID" (machinectl shows the unit's description beside it).
        if (machines is not null) await machines.RegisterAsync("ws-" + id, id, pid, ct);
    }

    public Task UpdateAsync(string id, ResourceLimits limits, CancellationToken ct) =>
        systemd.SetUnitPropertiesAsync(Location(id)!, Properties(limits).ToArray(), ct);

    /// <summary>Not read here: systemd records an OOM kill as the scope's result, and the scope is collected with it.</summary>
    public long? OutOfMemoryKills(string id) => null;

    /// <summary>A scope ends by itself when its last process exits; machined forgets the machine with its leader.</summary>
    public Task ReleaseAsync(string id) => Task.CompletedTask;

    private static IEnumerable<KeyValuePair<string, VariantValue>> Properties(ResourceLimits limits)
    {
        // CPUQuotaPerSecUSec: CPU time per wall-clock second; "infinity" is UInt64.MaxValue.
        yield return new("CPUQuotaPerSecUSec", VariantValue.UInt64(limits.CpuQuotaPercent is { } q ? (ulong)q * 10_000 : ulong.MaxValue));
        yield return new("CPUWeight", VariantValue.UInt64((ulong)(limits.CpuWeight ?? 100)));
        yield return new("MemoryMax", VariantValue.UInt64((ulong)limits.MemoryMaxBytes));
        yield return new("TasksMax", VariantValue.UInt64(limits.TasksMax is { } t ? (ulong)t : ulong.MaxValue));
        yield return new("IOWeight", VariantValue.UInt64((ulong)(limits.IoWeight ?? 100)));
    }

    private static bool InUnit(int pid, string unit)
    {
        try { return File.ReadAllText($"/proc/{pid}/cgroup").Contains("/" + unit, StringComparison.Ordinal); }
        catch (IOException) { return false; }
    }
}
