using System.Globalization;
using Workspaces.Client;
using Workspaces.Daemon;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Issue #13's fault matrix, as a table: for a cold, a stateful and a live move, each side killed (SIGKILL at the
/// crash point) or its link cut at each phase boundary it records. The daemon that faulted is restarted without
/// the fault and both resolvers settle the move by asking each other; then exactly one host holds the
/// workspace, the one the table names, never two, none left in MigrationUnknown, and nothing the guest had is
/// lost: the cold guest boots once more with its file (its boot counter one higher), the stateful one runs
/// with the same boot, its uptime going on and a process started at the beginning still alive.
/// A live guest runs on through every row like the stateful one (the live rows' boundaries are the ones the
/// live phases record: the source's Finish comes after the switch-over, before the destination runs its copy).
/// Three guests (one per mode) serve every row, wherever the last row left them: each move goes from the
/// host that holds the guest to the other one, so a row costs one boot (cold) or one restore (stateful).
/// </summary>
public sealed class MoveFaultMatrixTests(MoveFaultMatrixTests.Travellers travellers) : IClassFixture<MoveFaultMatrixTests.Travellers>
{
    public const string Source = "source", Destination = "destination", Kill = "kill", CutLink = "cut-link";

    /// <summary>(mode, fault, who faults, at which phase, who holds the workspace once settled).</summary>
    public static TheoryData<string, string, string, string, string> Matrix()
    {
        var rows = new TheoryData<string, string, string, string, string>();
        foreach (string mode in new[] { MigrationModes.Cold, MigrationModes.Stateful })
            foreach (string fault in new[] { Kill, CutLink })
            {
                // The source: before its Confirm nothing was deleted and the destination never finished, so it keeps the workspace.
                rows.Add(mode, fault, Source, MigrationPhase.Begin, Source);
                rows.Add(mode, fault, Source, MigrationPhase.Prepare, Source);
                rows.Add(mode, fault, Source, MigrationPhase.Perform, Source);
                rows.Add(mode, fault, Source, MigrationPhase.Confirm, Destination); // the destination finished first
                // The destination: its Finish, recorded once its copy is whole, is the commit point.
                rows.Add(mode, fault, Destination, MigrationPhase.Prepare, Source);
                rows.Add(mode, fault, Destination, MigrationPhase.Perform, Source);
                rows.Add(mode, fault, Destination, MigrationPhase.Finish, Destination);
                rows.Add(mode, fault, Destination, MigrationPhase.Confirm, Destination);
            }
        foreach (string fault in new[] { Kill, CutLink })
        {
            string live = MigrationModes.Live;
            rows.Add(live, fault, Source, MigrationPhase.Begin, Source);
            rows.Add(live, fault, Source, MigrationPhase.Prepare, Source);
            rows.Add(live, fault, Source, MigrationPhase.Perform, Source);
            rows.Add(live, fault, Source, MigrationPhase.Finish, Source); // switched over, but the destination never ran its copy
            rows.Add(live, fault, Source, MigrationPhase.Confirm, Destination);
            rows.Add(live, fault, Destination, MigrationPhase.Prepare, Source);
            rows.Add(live, fault, Destination, MigrationPhase.Finish, Destination); // recorded once its guest runs
        }
        return rows;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task After_a_fault_at_a_phase_boundary_exactly_one_host_holds_the_workspace_with_its_data(
        string mode, string fault, string who, string phase, string holder)
    {
        var guest = travellers.Of(mode);
        var (source, destination) = (travellers.Hosts[guest.Host], travellers.Hosts[1 - guest.Host]);
        var faulty = who == Source ? source : destination;
        // Each row starts from what the last one left: a cold guest stopped, a stateful one running.
        string before = (await source.Client.GetWorkspaceAsync(guest.Name)).State;
        Assert.Contains(before, mode == MigrationModes.Cold ? new[] { WorkspaceStates.Stopped, WorkspaceStates.Defined } : new[] { WorkspaceStates.Running });
        string variable = fault == Kill ? "WORKSPACES_CRASH_AT" : "WORKSPACES_FAULT_DROP_LINK_AT";
        faulty.Daemon.Environment[variable] = MigrationFaults.Point(who, phase);
        await faulty.Daemon.KillAsync();
        await faulty.Daemon.StartAsync();
        try
        {
            // Any answer, or none (a daemon died under the call): the resolvers decide, not the caller.
            await Record.ExceptionAsync(() => source.Client.MoveAsync(guest.Name, new MoveRequest(destination.Name, mode)));
            if (fault == Kill) await faulty.Daemon.WaitForExitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            faulty.Daemon.Environment.Remove(variable);
            await faulty.Daemon.KillAsync(); // a cut link's daemon lives on: restarted without the fault as well
            await faulty.Daemon.StartAsync();
        }

        var ticket = Rows(source).Last(r => r.WorkspaceId == guest.Id);
        Assert.Equal(MigrationPhase.SourceRole, ticket.Role);
        try
        {
            await Wait.UntilAsync(() => Settled(source, ticket.TicketHash) && Settled(destination, ticket.TicketHash), TimeSpan.FromSeconds(120),
                $"both sides settling the move (ticket {ticket.TicketHash[..12]})");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; what the daemons said of moves:\n{MoveLines(source)}\n{MoveLines(destination)}");
        }

        var (keeper, other) = holder == Source ? (source, destination) : (destination, source);
        Assert.DoesNotContain(await other.Client.ListWorkspacesAsync(), w => w.Id == guest.Id);
        Assert.False(Directory.Exists(other.Daemon.Layout.Dir(guest.Id)), $"{other.Name} kept a directory of the workspace");
        Assert.Empty(QemusOf(other, guest.Id));
        var kept = Assert.Single(await keeper.Client.ListWorkspacesAsync(), w => w.Id == guest.Id);
        guest.Host = travellers.Hosts.IndexOf(keeper);

        if (mode == MigrationModes.Cold)
        {
            Assert.Contains(kept.State, new[] { WorkspaceStates.Stopped, WorkspaceStates.Defined }); // Defined: as a destination records it
            await keeper.Client.ActAndWaitAsync(guest.Name, "start");
            guest.Boots++;
            try
            {
                await keeper.Daemon.WaitForConsoleAsync(guest.Name, $"WORKSPACE-READY boot={guest.Boots}");
                await ShellReadyAsync(keeper, guest.Name);
                Assert.Contains(guest.Marker, await GuestShell.RunAsync(keeper.Daemon, guest.Name, "cat /mnt/moved-file"));
            }
            finally
            {
                await keeper.Client.ActAndWaitAsync(guest.Name, "stop"); // stopped for the next row, whatever this one found
            }
        }
        else
        {
            // A guest saved for the move runs again where it stays: restored by the source, or started by hand on the destination.
            if (holder == Destination && mode == MigrationModes.Stateful)
            {
                Assert.Equal(WorkspaceStates.Saved, kept.State);
                await keeper.Client.ActAndWaitAsync(guest.Name, "start");
            }
            await Wait.UntilAsync(async () => (await keeper.Client.GetWorkspaceAsync(guest.Name)).State == WorkspaceStates.Running,
                TimeSpan.FromSeconds(120), $"{guest.Name} running on {keeper.Name}");
            int qemu = Assert.Single(QemusOf(keeper, guest.Id));
            Assert.Equal(qemu, (await keeper.Client.GetWorkspaceAsync(guest.Name)).Pid); // recorded, also through a MigrationUnknown
            await ShellReadyAsync(keeper, guest.Name);
            double uptime = Uptime(await GuestShell.RunAsync(keeper.Daemon, guest.Name, "cat /proc/uptime"));
            Assert.True(uptime >= guest.Uptime, $"uptime {uptime} s after the row, {guest.Uptime} s before: the guest rebooted");
            guest.Uptime = uptime;
            Assert.Contains("alive", await GuestShell.RunAsync(keeper.Daemon, guest.Name, $"kill -0 {guest.Process} && echo alive"));
            Assert.Contains(guest.Marker, await GuestShell.RunAsync(keeper.Daemon, guest.Name, "cat /mnt/moved-file"));
            Assert.Contains("boot-count: 1", await GuestShell.RunAsync(keeper.Daemon, guest.Name, "echo boot-count: $(cat /mnt/boot-count)"));
        }
    }

    /// <summary>
    /// The guest's command port answers a harmless command: a guest just restored on a host that was killed
    /// and started again may take a while to come back, so the checks wait for an answer first.
    /// </summary>
    private static async Task ShellReadyAsync(PeerHosts.Host host, string name)
    {
        try
        {
            await Wait.UntilAsync(async () => await Record.ExceptionAsync(() => GuestShell.RunAsync(host.Daemon, name, "true", TimeSpan.FromSeconds(10))) is null,
                TimeSpan.FromSeconds(60), $"{name}'s command port answering on {host.Name}");
        }
        catch (TimeoutException e)
        {
            // What the daemon did with it, and where its console stopped: the clues for a guest that does not come back.
            string console;
            await using (var stream = await host.Client.OpenConsoleAsync(name, follow: false))
                console = string.Join('\n', (await new StreamReader(stream).ReadToEndAsync()).Split('\n').TakeLast(15));
            var status = await host.Client.GetStatusAsync(name);
            string said = string.Join('\n', host.Daemon.Log.Split('\n').Where(l => l.Contains(name, StringComparison.Ordinal)).TakeLast(20));
            throw new TimeoutException($"{e.Message}\nits status: {status}\n{host.Name} said:\n{said}\nits console ends:\n{console}");
        }
    }

    private static string MoveLines(PeerHosts.Host host) =>
        $"{host.Name}:\n" + string.Join('\n', host.Daemon.Log.Split('\n').Where(l => l.Contains("ove of") || l.Contains("xception")).TakeLast(30));

    private static bool Settled(PeerHosts.Host host, string hash) =>
        Rows(host).FirstOrDefault(r => r.TicketHash == hash) is not { } row || row.Outcome is not (null or MigrationOutcome.Unknown);

    private static IReadOnlyList<MigrationRow> Rows(PeerHosts.Host host) =>
        new MigrationRepository(new Database(Path.Combine(host.Daemon.StateDir, "workspaces.db"))).List();

    private static IEnumerable<int> QemusOf(PeerHosts.Host host, string id) =>
        host.Daemon.QemuPids().Where(pid => File.ReadAllText($"/proc/{pid}/cmdline").Contains(id, StringComparison.Ordinal));

    private static double Uptime(string procUptime) => double.Parse(procUptime.Trim().Split(' ')[0], CultureInfo.InvariantCulture);

    /// <summary>One guest per mode, and where it is now.</summary>
    public sealed class Traveller(string name, string id, string marker)
    {
        public string Name { get; } = name;
        public string Id { get; } = id;
        public string Marker { get; } = marker;
        public int Host { get; set; }
        public int Boots { get; set; } = 1;
        public double Uptime { get; set; }
        public string Process { get; set; } = "";
    }

    /// <summary>Two daemons in namespaces, joined; a cold guest (booted once to write its file, stopped) and a running stateful one.</summary>
    public sealed class Travellers : IAsyncLifetime
    {
        private PeerHosts _peers = null!;
        private Traveller _cold = null!, _stateful = null!, _live = null!;

        public List<PeerHosts.Host> Hosts => _peers.Hosts;

        public Traveller Of(string mode) => mode switch { MigrationModes.Cold => _cold, MigrationModes.Stateful => _stateful, _ => _live };

        public async Task InitializeAsync()
        {
            _peers = await PeerHosts.StartAsync(2);
            await _peers.JoinAllAsync();
            var host = _peers[0];
            await GuestImages.ImportAsync(host.Client);
            _cold = await BootAsync(host, "cold-traveller");
            await host.Client.ActAndWaitAsync(_cold.Name, "stop");
            _stateful = await BootAsync(host, "warm-traveller");
            _stateful.Process = (await GuestShell.RunAsync(host.Daemon, _stateful.Name, "sleep 100000 >/dev/null 2>&1 & echo $!")).Trim();
            _stateful.Uptime = Uptime(await GuestShell.RunAsync(host.Daemon, _stateful.Name, "cat /proc/uptime"));
            _live = await BootAsync(host, "live-traveller");
            _live.Process = (await GuestShell.RunAsync(host.Daemon, _live.Name, "sleep 100000 >/dev/null 2>&1 & echo $!")).Trim();
            _live.Uptime = Uptime(await GuestShell.RunAsync(host.Daemon, _live.Name, "cat /proc/uptime"));
        }

        private static async Task<Traveller> BootAsync(PeerHosts.Host host, string name)
        {
            var created = await host.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, "guest", 1, 128));
            await host.Client.ActAndWaitAsync(name, "start");
            await host.Daemon.WaitForConsoleAsync(name, "WORKSPACE-READY boot=1");
            await ShellReadyAsync(host, name);
            string marker = $"written-before-any-move-{name}";
            await GuestShell.RunAsync(host.Daemon, name, $"echo {marker} > /mnt/moved-file && sync");
            return new Traveller(name, created.Id, marker);
        }

        public async Task DisposeAsync() => await _peers.DisposeAsync();
    }
}
