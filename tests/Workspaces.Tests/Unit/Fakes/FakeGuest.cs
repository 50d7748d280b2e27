using System.Threading.Channels;
using Workspaces.Daemon.Hypervisor;

namespace Workspaces.Tests.Unit.Fakes;

/// <summary>
/// One attach to a FakeGuestProcess, as QemuGuest is one QMP connection to a QEMU: it sees the
/// events that happen while attached, and disposing it detaches without stopping the guest. Like
/// QemuGuest, which learns of the exit from its socket, it reports an unclean end once detached
/// from a guest that still runs (it can no longer tell).
/// </summary>
public sealed class FakeGuest : IGuest
{
    private readonly FakeGuestProcess _process;
    private readonly Channel<GuestEvent> _events = Channel.CreateUnbounded<GuestEvent>();
    private readonly TaskCompletionSource<GuestExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposals;

    internal FakeGuest(FakeGuestProcess process)
    {
        _process = process;
        if (process.Exited.IsCompleted) _exited.TrySetResult(process.Exited.Result);
    }

    public FakeGuestProcess Process => _process;
    public int Pid => _process.Pid;
    public ChannelReader<GuestEvent> Events => _events.Reader;
    public Task<GuestExit> Exited => _exited.Task;

    /// <summary>How often DisposeAsync was called (the lifecycle and a watcher may each dispose it once).</summary>
    public int Disposals => Volatile.Read(ref _disposals);
    public bool Disposed => Disposals > 0;

    internal void Deliver(GuestEvent e) => _events.Writer.TryWrite(e);
    internal void Close() => _events.Writer.TryComplete();
    internal void Ended(GuestExit exit) => _exited.TrySetResult(exit);

    public Task<string> QueryStateAsync(CancellationToken ct) => Attached().AskAsync("query-state", ct, () => _process.Status);
    public Task RunAsync(CancellationToken ct) => Attached().DoAsync("run", ct, _process.Resume);
    public Task PauseAsync(CancellationToken ct) => Attached().DoAsync("pause", ct, _process.Pause);
    public Task PowerdownAsync(CancellationToken ct) => Attached().DoAsync("powerdown", ct, () => _process.PowerOff());
    public Task ResetAsync(CancellationToken ct) => Attached().DoAsync("reset", ct, () => Deliver(new GuestEvent(GuestEventKind.Reset, "system reset")));
    public Task<long> BootMemoryAsync(CancellationToken ct) => Attached().AskAsync("boot-memory", ct, () => (long)_process.Spec.MemoryMiB << 20);
    public Task SetMemoryAsync(long bytes, CancellationToken ct) => Attached().DoAsync("set-memory", ct, () => _process.SetBalloon(bytes));
    public Task ChangeMediumAsync(string device, string path, CancellationToken ct) => Attached().DoAsync("change-medium", ct, () => { });
    public Task KillAsync(CancellationToken ct) => Attached().KillAsync(ct);
    public Task AttachDiskAsync(GuestDataDisk disk, CancellationToken ct) => Attached().DoAsync("attach-disk", ct, () => _process.Disks[disk.Name] = disk);
    public Task DetachDiskAsync(string name, TimeSpan timeout, CancellationToken ct) => Attached().DoAsync("detach-disk", ct, () => _process.Disks.TryRemove(name, out _));
    public Task<IReadOnlySet<string>> AttachedDisksAsync(CancellationToken ct) =>
        Attached().AskAsync<IReadOnlySet<string>>("attached-disks", ct, () => _process.Disks.Keys.ToHashSet());
    public Task ExportDiskAsync(string nbdSocket, string exportName, string overlayPath, CancellationToken ct) => throw new NotSupportedException("the fake guest has no disk to export");
    public Task ListenForMigrationAsync(string migrationSocket, CancellationToken ct) => throw new NotSupportedException("the fake guest cannot migrate");
    public Task WaitIncomingAsync(CancellationToken ct) => throw new NotSupportedException("the fake guest cannot migrate");
    public Task EndExportAsync(CancellationToken ct) => throw new NotSupportedException("the fake guest cannot migrate");
    public Task<MigrationStats> MigrateLiveAsync(LiveMigrationTarget target, IProgress<LiveMigrationProgress>? progress, CancellationToken ct) => throw new NotSupportedException("the fake guest cannot migrate");
    public Task SaveStateAsync(string path, CancellationToken ct) => throw new NotSupportedException("the fake guest has no state to save");
    public Task RestoreStateAsync(string path, CancellationToken ct) => throw new NotSupportedException("the fake guest has no state to restore");

    private FakeGuestProcess Attached() =>
        Disposed ? throw new HypervisorException($"the attach to guest {Pid} was disposed (its QMP connection is closed)") : _process;

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Increment(ref _disposals) == 1)
        {
            _process.Detach(this);
            Close();
            _exited.TrySetResult(new GuestExit(false, "detached; the guest runs on", Detached: true)); // as QemuGuest: letting go is no end
        }
        return ValueTask.CompletedTask;
    }
}
