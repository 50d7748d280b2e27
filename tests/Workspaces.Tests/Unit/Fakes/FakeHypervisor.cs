using System.Collections.Concurrent;
using Workspaces.Daemon.Hypervisor;

namespace Workspaces.Tests.Unit.Fakes;

/// <summary>
/// IHypervisor for unit tests: guest processes in memory that outlive the daemon attached to them,
/// as QEMU processes do, so a test can restart the daemon and let it re-attach. A launch writes the
/// pid file where QEMU would and starts the guest with its vCPUs stopped; OnLaunch can make it fail
/// or hold it, and OnLaunched scripts the new guest. AttachAsync finds a live guest by pid and QMP socket, as QemuDriver checks its pid.
/// </summary>
public sealed class FakeHypervisor : IHypervisor
{
    private readonly ConcurrentDictionary<int, FakeGuestProcess> _alive = new();
    private readonly ConcurrentQueue<FakeGuestProcess> _launched = new();
    private int _nextPid = 7_000_000; // above the kernel's pid_max (4194304): never a real process

    /// <summary>Runs before each launch: throw to make it fail, await to hold it.</summary>
    public Func<GuestSpec, CancellationToken, Task>? OnLaunch { get; set; }

    /// <summary>Runs on each new guest before its launch returns: the place to script what it will do (its Script).</summary>
    public Action<FakeGuestProcess>? OnLaunched { get; set; }

    /// <summary>Every guest launched, in order, whether or not it still runs.</summary>
    public IReadOnlyList<FakeGuestProcess> Launched => _launched.ToList();

    /// <summary>The guests whose process is alive.</summary>
    public IReadOnlyCollection<FakeGuestProcess> Alive => _alive.Values.ToList();

    public async Task<IGuest> LaunchAsync(GuestSpec spec, CancellationToken ct)
    {
        if (OnLaunch is { } hook) await hook(spec, ct);
        ct.ThrowIfCancellationRequested();
        var process = new FakeGuestProcess(this, Interlocked.Increment(ref _nextPid), spec);
        Directory.CreateDirectory(spec.RuntimeDir);
        await File.WriteAllTextAsync(spec.PidFile, process.Pid + "\n", ct);
        _alive[process.Pid] = process;
        _launched.Enqueue(process);
        OnLaunched?.Invoke(process);
        return process.Attach();
    }

    public Task<IGuest?> AttachAsync(GuestSpec spec, int pid, CancellationToken ct) =>
        Task.FromResult<IGuest?>(_alive.TryGetValue(pid, out var process) && process.Spec.QmpSocket == spec.QmpSocket
            ? process.Attach()
            : null);

    internal void Forget(FakeGuestProcess process) => _alive.TryRemove(process.Pid, out _);
}
