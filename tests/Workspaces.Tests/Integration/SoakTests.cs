using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Four workers doing random create/start/pause/resume/stop/checkin/copy/rm on the test guest while the
/// daemon is killed (SIGKILL) every ~2 minutes and started again. At the end every workspace starts,
/// every image verifies, and nothing is left that SQLite does not account for. Minutes from
/// WORKSPACES_SOAK_MINUTES (tests/soak/run.sh MINUTES); 5 in the test command.
/// </summary>
[Collection(Name)]
public sealed class SoakTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Its own collection, run alone: its eight guests would skew the CPU and memory measurements of others.</summary>
    public const string Name = "Soak";

    private static readonly string[] Actions = ["create", "start", "pause", "resume", "stop", "checkin", "copy", "rm"];

    [Fact]
    public async Task Random_lifecycle_under_daemon_kills_leaves_every_workspace_startable_and_nothing_leaked()
    {
        double minutes = double.TryParse(Environment.GetEnvironmentVariable("WORKSPACES_SOAK_MINUTES"), out var m) ? m : 5;
        // In a network namespace of its own: half the workspaces get a NIC, so taps, dnsmasq and rules are in the reckoning too.
        await using var ns = await NetNamespace.CreateAsync("k");
        await using var daemon = await DaemonProcess.StartAsync(new() { ["stopTimeoutSeconds"] = 5 }, ns.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await client.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.63.0.0/24"));
        const string prefix = "s";
        var seen = new ConcurrentDictionary<string, bool>(); // every workspace id seen: their groups are this test's
        var counts = new ConcurrentDictionary<string, int>();
        var unexpected = new ConcurrentQueue<string>();
        void Count(string what) => counts.AddOrUpdate(what, 1, (_, n) => n + 1);

        var until = DateTime.UtcNow + TimeSpan.FromMinutes(minutes);
        var daemonGate = new SemaphoreSlim(1, 1); // held while the daemon is down
        int kills = 0;
        var killer = Task.Run(async () =>
        {
            while (DateTime.UtcNow + TimeSpan.FromSeconds(100) < until)
            {
                await Task.Delay(TimeSpan.FromSeconds(90 + Random.Shared.Next(60)));
                if (DateTime.UtcNow > until) break;
                await daemonGate.WaitAsync();
                try
                {
                    await daemon.KillAsync();
                    kills++;
                    await daemon.StartAsync();
                }
                finally { daemonGate.Release(); }
            }
        });

        async Task Worker(int id)
        {
            var random = new Random(id * 7919 + Environment.TickCount);
            int made = 0;
            while (DateTime.UtcNow < until)
            {
                string action = Actions[random.Next(Actions.Length)];
                WorkspaceInfo[] mine;
                try { mine = (await client.ListWorkspacesAsync()).Where(w => w.Name.StartsWith($"{prefix}w{id}-")).ToArray(); }
                catch (HttpRequestException) { await daemonGate.WaitAsync(); daemonGate.Release(); continue; }
                // At most two each: eight guests of one vCPU are what this host admits (2 CPUs x 4), so all can start at the end.
                if (action is "create" or "copy" && mine.Length >= 2) action = "rm";
                if (action != "create" && mine.Length == 0) action = "create";
                // Mostly a workspace in a state the action needs (else checkins would hardly ever run); races still make 409s.
                var fitting = mine.Where(w => Fits(action, w.State)).ToArray();
                var pool = fitting.Length > 0 && random.Next(4) > 0 ? fitting : mine;
                var target = pool.Length > 0 ? pool[random.Next(pool.Length)] : null;
                foreach (var w in mine) seen.TryAdd(w.Id, true);
                try
                {
                    switch (action)
                    {
                        case "create":
                            // A marker of its own, written at first boot: checked-in disks differ, so checkins are not
                            // refused as images already in the cache (identical overlays have one fingerprint).
                            await client.CreateWorkspaceAsync(new CreateWorkspaceRequest($"{prefix}w{id}-{made}", "guest", MemoryMiB: 128,
                                Cmdline: await GuestImages.CmdlineWithMarkAsync($"w{id}-{made++}"),
                                Network: random.Next(2) == 0 ? "lan" : null));
                            break;
                        case "copy": await client.CopyWorkspaceAsync(target!.Name, $"{prefix}w{id}-{made++}"); break;
                        case "checkin": await client.CheckinAsync(target!.Name, new CheckinRequest($"{prefix}-img{id}-{made++}")); break;
                        case "rm": await client.DeleteWorkspaceAsync(target!.Name, force: true); break;
                        case "stop": await client.ActAndWaitAsync(target!.Name, "stop", random.Next(2) == 0 ? "force=true" : null); break;
                        default: await client.ActAndWaitAsync(target!.Name, action); break;
                    }
                    Count($"{action} done");
                }
                catch (ApiException e) when (e.Status is 404 or 409)
                {
                    Count($"{action} refused ({e.Status})"); // another state than the action needs, or raced
                    if (e.Message.Contains("internal error", StringComparison.OrdinalIgnoreCase)) unexpected.Enqueue($"{action} {target?.Name}: {e.Message}");
                }
                catch (ApiException e)
                {
                    unexpected.Enqueue($"{action} {target?.Name}: {e.Status} {e.Message}");
                }
                catch (Exception e) when (e is HttpRequestException or IOException)
                {
                    Count($"{action} lost (daemon killed)");
                    await daemonGate.WaitAsync(); daemonGate.Release();
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(Worker).Append(killer));
        output.WriteLine($"{minutes} min, {kills} daemon kills; " + string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}: {c.Value}")));
        Assert.True(unexpected.IsEmpty, "unexpected answers:\n" + string.Join("\n", unexpected));
        Assert.True(kills >= (minutes >= 3 ? 1 : 0), "the daemon was never killed");

        // One more crash, then the reckoning.
        await daemon.KillAsync();
        await daemon.StartAsync();
        var all = await client.ListWorkspacesAsync();
        foreach (var w in all.Where(w => w.State is WorkspaceStates.Paused)) await client.ActAndWaitAsync(w.Name, "resume");
        foreach (var w in all.Where(w => w.State is not (WorkspaceStates.Running or WorkspaceStates.Paused))) await client.ActAndWaitAsync(w.Name, "start");
        foreach (var w in all) Assert.Equal(WorkspaceStates.Running, (await client.GetWorkspaceAsync(w.Name)).State);
        foreach (var report in await client.VerifyAllImagesAsync()) Assert.True(report.Intact, $"{report.Image}: {string.Join("; ", report.Problems)}");
        output.WriteLine($"at the end: {all.Length} workspaces all running, {(await client.ListImagesAsync()).Length} images all intact");

        foreach (var w in all) seen.TryAdd(w.Id, true);
        AssertNothingLeaked(daemon, seen.Keys.ToHashSet(), all, await client.ListImagesAsync(), (await client.GetHostAsync()).Enforcement);
        await AssertNetworkMatchesAsync(daemon, ns, await Task.WhenAll(all.Select(w => client.GetWorkspaceAsync(w.Name)))); // with their NICs
    }

    private static bool Fits(string action, string state) => action switch
    {
        "checkin" => state is WorkspaceStates.Stopped, // booted once: its disk has its marker
        "copy" => state is WorkspaceStates.Defined or WorkspaceStates.Stopped,
        "start" => state is WorkspaceStates.Defined or WorkspaceStates.Stopped or WorkspaceStates.Failed,
        "pause" or "stop" => state is WorkspaceStates.Running,
        "resume" => state is WorkspaceStates.Paused,
        _ => true,
    };

    /// <summary>One dnsmasq, a tap for each running workspace with a NIC and no other, and rules only for workspaces that exist.</summary>
    private static async Task AssertNetworkMatchesAsync(DaemonProcess daemon, NetNamespace ns, WorkspaceInfo[] workspaces)
    {
        Assert.Single(daemon.DnsmasqPids());
        var withNic = workspaces.Where(w => w.Nic is not null).ToList();
        var taps = (await ns.RunAsync("ip", "-o", "link", "show", "type", "tun")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':')[1].Trim()).Order();
        Assert.Equal(withNic.Select(w => w.Nic!.Tap).Order(), taps);
        string rules = (await ns.RunAsync("nft", "list", "ruleset")).Stdout;
        var named = System.Text.RegularExpressions.Regex.Matches(rules, "comment \"workspace ([^\"]+)\"").Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Equal(withNic.Select(w => w.Id).ToHashSet(), named);
    }

    /// <summary>QEMUs, cgroups, workspace dirs, blobs, staging files and checkin rows: each is what SQLite says, no more.</summary>
    private static void AssertNothingLeaked(DaemonProcess daemon, HashSet<string> seen, WorkspaceInfo[] workspaces, ImageInfo[] images, string? enforcement)
    {
        Assert.Equal(workspaces.Length, daemon.QemuPids().Count());
        var dirs = Directory.EnumerateDirectories(Path.Combine(daemon.StateDir, "workspaces")).Select(d => Path.GetFileName(d)!).Order();
        Assert.Equal(workspaces.Select(w => w.Id).Order(), dirs);
        foreach (var w in workspaces)
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(daemon.StateDir, "workspaces", w.Id), "*.next"));
        var blobs = Directory.EnumerateFiles(Path.Combine(daemon.StateDir, "images")).Select(f => Path.GetFileName(f)!).Where(f => f.Length == 64).ToHashSet();
        Assert.Equal(images.SelectMany(i => new[] { i.Disk, i.Kernel, i.Initrd }).OfType<string>().ToHashSet(), blobs);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(daemon.StateDir, "images", ".staging")));
        foreach (var memory in new[] { "/sys/fs/cgroup/memory/workspaces", "/sys/fs/cgroup/workspaces" }.Where(Directory.Exists))
        {
            // `ip netns exec` gives the daemon a fresh /sys without the cgroup mounts: then it enforces nothing, and must make no group.
            var groups = Directory.EnumerateDirectories(memory).Select(d => Path.GetFileName(d)!).Where(seen.Contains);
            Assert.Equal(enforcement is "cgroup-v1" or "cgroup-v2" ? workspaces.Select(w => w.Id).Order() : [], groups.Order());
        }
        using var db = new SqliteConnection($"Data Source={Path.Combine(daemon.StateDir, "workspaces.db")};Mode=ReadOnly");
        db.Open();
        using var unfinished = db.CreateCommand();
        unfinished.CommandText = "SELECT COUNT(*) FROM checkins";
        Assert.Equal(0L, (long)unfinished.ExecuteScalar()!);
    }
}

[CollectionDefinition(SoakTests.Name, DisableParallelization = true)]
public sealed class SoakCollection;
