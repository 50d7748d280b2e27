using System.Collections.Concurrent;
using Workspaces.Daemon.Hypervisor;

namespace Workspaces.Tests.Unit.Fakes;

/// <summary>
/// One guest "process" on the fake machine, the part of a QEMU that outlives any daemon attached to
/// it: a pid, a status ("prelaunch" until the first run, then "running" or "paused"), an exit. Each
/// attach (FakeGuest) sees the events that happen while it is attached, as a QMP connection would.
///
/// Commands run a script when the test gave one (Script["pause"] = ...), else what a well-behaved
/// guest does: run resumes, pause stops the vCPUs, powerdown powers off, kill quits. A command to a
/// process that has exited fails as a command on a closed QMP socket does.
/// </summary>
public sealed class FakeGuestProcess
{
    private readonly FakeHypervisor _host;
    private readonly TaskCompletionSource<GuestExit> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<FakeGuest> _attachments = []; // attached now: they get the events
    private readonly List<FakeGuest> _attaches = [];     // every attach ever made
    private readonly Lock _lock = new();

    internal FakeGuestProcess(FakeHypervisor host, int pid, GuestSpec spec)
    {
        _host = host;
        Pid = pid;
        Spec = spec;
        foreach (var disk in spec.DataDisks ?? []) Disks[disk.Name] = disk;
    }

    public int Pid { get; }
    public GuestSpec Spec { get; }
    public string Status { get; private set; } = "prelaunch";
    public bool Alive => !_exit.Task.IsCompleted;
    public Task<GuestExit> Exited => _exit.Task;

    /// <summary>Whether KillAsync ended it (as opposed to a power-off or a crash).</summary>
    public bool Killed { get; private set; }

    /// <summary>Every command received, in order ("run", "pause", "powerdown", "kill", ...), from any attach.</summary>
    public ConcurrentQueue<string> Received { get; } = new();

    /// <summary>What the guest does on a command instead of the default; a script may block, throw, or end the process.</summary>
    public ConcurrentDictionary<string, Func<CancellationToken, Task>> Script { get; } = new();

    /// <summary>The data disks plugged in now, by name (from the spec at launch, then hot-plugs and unplugs).</summary>
    public ConcurrentDictionary<string, GuestDataDisk> Disks { get; } = new();

    public long? BalloonBytes { get; private set; }

    /// <summary>Every attach made to this guest, in order: the launch's first, then each re-attach.</summary>
    public IReadOnlyList<FakeGuest> Attaches
    {
        get { lock (_lock) return _attaches.ToList(); }
    }

    internal FakeGuest Attach()
    {
        var guest = new FakeGuest(this);
        lock (_lock)
        {
            _attaches.Add(guest);
            if (!Alive) guest.Close();
            else _attachments.Add(guest);
        }
        return guest;
    }

    // What happens in the guest, for scripts and tests to call.

    /// <summary>The vCPUs stop (a pause, or the guest stopping itself on an I/O error).</summary>
    public void Pause()
    {
        Status = "paused";
        Emit(new GuestEvent(GuestEventKind.Paused, "vCPUs stopped"));
    }

    public void Resume()
    {
        Status = "running";
        Emit(new GuestEvent(GuestEventKind.Resumed, "vCPUs running"));
    }

    /// <summary>A live migration's switch-over completed: the vCPUs stop in QEMU's postmigrate state.</summary>
    public void SwitchedOver()
    {
        Status = "postmigrate";
        Emit(new GuestEvent(GuestEventKind.Paused, "vCPUs stopped"));
    }

    /// <summary>An orderly end: a SHUTDOWN event, then the process exits cleanly.</summary>
    public void PowerOff(string reason = "the guest powered off")
    {
        Emit(new GuestEvent(GuestEventKind.Shutdown, reason));
        End(new GuestExit(true, reason));
    }

    /// <summary>The process dies without a shutdown (killed from outside, a QEMU crash).</summary>
    public void Crash() => End(new GuestExit(false, $"QEMU (pid {Pid}) exited unexpectedly, without a shutdown"));

    private void Emit(GuestEvent e)
    {
        List<FakeGuest> attached;
        lock (_lock) attached = _attachments.ToList();
        foreach (var guest in attached) guest.Deliver(e);
    }

    private void End(GuestExit exit)
    {
        List<FakeGuest> attached;
        lock (_lock)
        {
            if (!Alive) return;
            Status = "shutdown";
            attached = _attachments.ToList();
            _attachments.Clear();
        }
        _host.Forget(this);
        foreach (var guest in attached) guest.Close();
        _exit.TrySetResult(exit);
        foreach (var guest in attached) guest.Ended(exit);
    }

    internal void Detach(FakeGuest guest)
    {
        lock (_lock) _attachments.Remove(guest);
    }

    internal async Task DoAsync(string command, CancellationToken ct, Action standard)
    {
        Received.Enqueue(command);
        ct.ThrowIfCancellationRequested();
        if (!Alive) throw Gone(command);
        if (Script.TryGetValue(command, out var script)) await script(ct);
        else standard();
    }

    internal async Task<T> AskAsync<T>(string command, CancellationToken ct, Func<T> standard)
    {
        await DoAsync(command, ct, () => { });
        if (!Alive) throw Gone(command);
        return standard();
    }

    /// <summary>Quit, or nothing when it is gone already: the real KillAsync ends a dead QEMU without an error (ESRCH is ignored).</summary>
    internal async Task KillAsync(CancellationToken ct)
    {
        Received.Enqueue("kill");
        if (Script.TryGetValue("kill", out var script)) await script(ct);
        if (!Alive) return;
        Killed = true;
        Emit(new GuestEvent(GuestEventKind.Shutdown, "stopped by workspacesd"));
        End(new GuestExit(true, "stopped by workspacesd"));
    }

    internal void SetBalloon(long bytes) => BalloonBytes = bytes;

    internal static HypervisorException Gone(string command) =>
        new($"'{command}' was not answered: the guest's process has exited (its QMP socket closed)");
}
