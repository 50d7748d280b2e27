using Workspaces.Daemon.Core;
using Workspaces.Daemon.Workspaces;
using Microsoft.Data.Sqlite;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;

namespace Workspaces.Tests.Unit;

public sealed class SmallPartsTests
{
    [Fact]
    public void Command_line_starts_paused_with_qmp_daemonized_and_the_console_in_a_file()
    {
        var spec = new GuestSpec("web1", "3f9c0e1d2b4a6c8e", 2, 512, "tcg", new WorkspaceLayout("/state/w").Guest("1"), "/state/w/1/disk.qcow2", "/img/k", "/img/i", "console=ttyS0 quiet");
        var args = QemuCommandLine.Build(spec);
        Assert.Contains("-S", args);
        Assert.Contains("-daemonize", args);
        Assert.Equal("guest=3f9c0e1d2b4a6c8e,debug-threads=on", args[args.IndexOf("-name") + 1]); // host-wide: the id, not the per-owner name
        Assert.Equal("tcg", args[args.IndexOf("-accel") + 1]);
        Assert.Equal("2", args[args.IndexOf("-smp") + 1]);
        Assert.Equal("512M", args[args.IndexOf("-m") + 1]);
        Assert.Equal("unix:/state/w/1/qmp.sock,server=on,wait=off", args[args.IndexOf("-qmp") + 1]);
        Assert.Equal("console=ttyS0 quiet", args[args.IndexOf("-append") + 1]); // one argument, never split by a shell
        Assert.Contains("file,id=console,path=/state/w/1/console.log,append=on", args);
    }

    [Fact]
    public void Commas_in_paths_are_escaped_for_qemu_option_values()
    {
        var spec = new GuestSpec("w", "0123456789abcdef", 1, 64, "tcg", new WorkspaceLayout("/").Guest("s"), "/weird,dir/disk.qcow2", null, null, null);
        var drive = QemuCommandLine.Build(spec).Single(a => a.StartsWith("file="));
        Assert.StartsWith("file=/weird,,dir/disk.qcow2,format=qcow2", drive);
    }

    [Fact]
    public void Fingerprints_change_with_any_part_and_are_stable()
    {
        string a = ImageFingerprint.Compute("k", "i", "d", "qcow2", "console=ttyS0");
        Assert.Equal(a, ImageFingerprint.Compute("k", "i", "d", "qcow2", "console=ttyS0"));
        Assert.Equal(64, a.Length);
        Assert.NotEqual(a, ImageFingerprint.Compute("k", "i", "d", "qcow2", "console=ttyS1"));
        Assert.NotEqual(a, ImageFingerprint.Compute("k", null, "d", "qcow2", "console=ttyS0"));
        Assert.NotEqual(a, ImageFingerprint.Compute("k", "i", "d", "raw", "console=ttyS0"));
    }

    [Fact]
    public void Boot_artifacts_are_recognised_by_magic()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        var kernel = new byte[0x400];
        "HdrS"u8.CopyTo(kernel.AsSpan(0x202));
        File.WriteAllBytes(Path.Combine(dir, "k"), kernel);
        File.WriteAllBytes(Path.Combine(dir, "gz"), [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
        File.WriteAllBytes(Path.Combine(dir, "text"), "hello world, no magic here"u8.ToArray());
        Assert.True(BootArtifacts.IsKernel(Path.Combine(dir, "k")));
        Assert.False(BootArtifacts.IsKernel(Path.Combine(dir, "text")));
        Assert.True(BootArtifacts.IsInitrd(Path.Combine(dir, "gz")));
        Assert.False(BootArtifacts.IsInitrd(Path.Combine(dir, "text")));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Schema_migrations_bring_a_new_database_to_the_latest_version_in_WAL_mode_and_refuse_a_newer_one()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ws-{Guid.NewGuid():N}.db");
        var db = new Database(path);
        using (var c = db.Open())
        {
            Assert.Equal((long)SchemaMigrations.Latest, Scalar(c, "PRAGMA user_version"));
            Assert.Equal("wal", Scalar(c, "PRAGMA journal_mode"));
            Scalar(c, "PRAGMA user_version = 99");
        }
        _ = Assert.Throws<InvalidOperationException>(() => new Database(path));
        SqliteConnection.ClearAllPools();
        foreach (var f in Directory.EnumerateFiles(Path.GetTempPath(), Path.GetFileName(path) + "*")) File.Delete(f);
    }

    private static object? Scalar(SqliteConnection c, string sql)
    {
        using var command = c.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    [Fact]
    public void Reverter_undoes_in_reverse_unless_it_succeeded()
    {
        var log = new List<int>();
        using (var _ = new SyncWrapper(async () =>
        {
            await using var r = new Workspaces.Daemon.Core.Reverter(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            r.Add(() => log.Add(1));
            r.Add(() => throw new IOException("one undo fails"));
            r.Add(() => log.Add(3));
        })) { }
        Assert.Equal([3, 1], log);

        log.Clear();
        using (var _ = new SyncWrapper(async () =>
        {
            await using var r = new Workspaces.Daemon.Core.Reverter(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            r.Add(() => log.Add(1));
            r.Success();
        })) { }
        Assert.Empty(log);
    }

    private sealed class SyncWrapper : IDisposable
    {
        public SyncWrapper(Func<Task> body) => body().GetAwaiter().GetResult();
        public void Dispose() { }
    }

    [Fact]
    public void Process_table_tells_live_from_gone()
    {
        Assert.True(ProcessTable.IsAlive(Environment.ProcessId));
        Assert.False(ProcessTable.IsAlive(int.MaxValue - 1));
        Assert.NotNull(ProcessTable.CommandLine(Environment.ProcessId));
    }
}
