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
        // A guest's exit is handled in the background and may still be writing into the state dir while it
        // is removed (seen once in CI: "Directory not empty"): removing again once it settles is enough.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                Directory.Delete(StateDir, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 50)
            {
                Thread.Sleep(20);
            }
        }
    }
}
