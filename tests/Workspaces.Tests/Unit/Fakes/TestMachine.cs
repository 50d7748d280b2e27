using Microsoft.Data.Sqlite;

namespace Workspaces.Tests.Unit.Fakes;

/// <summary>
/// The machine an in-process daemon runs on in a unit test: a state directory of its own, and the
/// guest processes (FakeHypervisor) and resource groups (FakeResourceController) that, like QEMU
/// processes and cgroups, outlive any one daemon. Daemons come and go on it (InProcessDaemon.Start).
/// </summary>
public sealed class TestMachine : IDisposable
{
    public string StateDir { get; } = Directory.CreateTempSubdirectory("ws-unit-").FullName;
    public FakeHypervisor Hypervisor { get; } = new();
    public FakeResourceController Resources { get; } = new();

    public void Dispose()
    {
        foreach (var guest in Hypervisor.Alive) guest.Crash(); // nothing keeps a watcher waiting
        SqliteConnection.ClearAllPools();
        Directory.Delete(StateDir, recursive: true);
    }
}
