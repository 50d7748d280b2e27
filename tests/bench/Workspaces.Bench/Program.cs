using Workspaces.Bench;
using Workspaces.Testing;

// Benchmarks of issues #2, #4 and #11, each against a baseline measured in the same run. Run by tests/bench/run.sh,
// which builds the Native AOT binaries and names them in WORKSPACES_DAEMON and WORKSPACES_CLI.
int runs = args.Length > 0 && int.TryParse(args[0], out int n) ? n : 10;
// libvirt's create/destroy cycle is slow here (see the closing note); it gets its own, smaller count.
int libvirtRuns = args.FirstOrDefault(a => a.StartsWith("--libvirt-runs=")) is { } lr ? int.Parse(lr["--libvirt-runs=".Length..]) : runs;
// Domains defined for `virsh list --all`; fewer than 100 only makes libvirt's side easier.
int libvirtDomains = args.FirstOrDefault(a => a.StartsWith("--libvirt-domains=")) is { } ld ? int.Parse(ld["--libvirt-domains=".Length..]) : 100;
bool libvirt = !args.Contains("--no-libvirt");
// The Factory moves 1 GiB per run; a few runs give a stable median.
int factoryRuns = args.FirstOrDefault(a => a.StartsWith("--factory-runs=")) is { } fr ? int.Parse(fr["--factory-runs=".Length..]) : 5;
bool onlyFactory = args.Contains("--only-factory");
// Only `ws list` against `virsh list --all` (and the daemon's RSS).
bool onlyList = args.Contains("--only-list");
// Only issue 16's scale figures: ws list at 100, 1,000 and 10,000 defined, RSS, restart to list (ScaleBench).
bool onlyScale = args.Contains("--only-scale");

// Only the federation's pulls (PullBench): 1 GiB per run over namespaces, several GiB in all; never in CI.
bool onlyFederation = args.Contains("--only-federation");
int pullRuns = args.FirstOrDefault(a => a.StartsWith("--pull-runs=")) is { } pr ? int.Parse(pr["--pull-runs=".Length..]) : 3;
// What each sender's cable may carry in the two-peer pull (tc tbf rate).
string senderRate = args.FirstOrDefault(a => a.StartsWith("--sender-rate=")) is { } sr ? sr["--sender-rate=".Length..] : "400mbit";
// One more pull with `perf record` on both daemons, summed by library and symbol.
bool pullProfile = args.Contains("--pull-profile");

var report = new Report();
if (onlyScale)
{
    Console.Error.WriteLine($"scale: ws list at 100, 1,000 and 10,000 defined ({runs} runs each), daemon RSS, restart to list");
    await ScaleBench.RunAsync(runs, report);
    Console.WriteLine();
    report.Print();
    return;
}
// Only issue 17's playground apply (PlaygroundBench): 4 members from a cached image against 4 launched by hand.
if (args.Contains("--only-playground"))
{
    Console.Error.WriteLine($"playground: apply a 4-member playground against 4 workspaces by hand, {runs} rounds each");
    await PlaygroundBench.RunAsync(runs, report);
    Console.WriteLine();
    report.Print();
    return;
}
// Only `ws place` with 3 peers (PlaceBench): four daemons in network namespaces, nothing else.
if (args.Contains("--only-place"))
{
    Console.Error.WriteLine($"place: ws place with 3 peers against ws host, {runs * 3} runs each");
    await PlaceBench.RunAsync(runs * 3, report);
    Console.WriteLine();
    report.Print();
    return;
}
// Only fast start from RAM (TemplateBench): a template's launch against a cold boot, ws run from it, its RAM's size.
if (args.Contains("--only-template"))
{
    Console.Error.WriteLine($"template: launch from a template against a cold boot, {runs} rounds");
    await TemplateBench.RunAsync(runs, report);
    Console.WriteLine();
    report.Print();
    return;
}
// Only issue 13's live move (LiveBench): the engine through the tunnel against a bare QEMU migration over a Unix socket.
if (args.Contains("--only-live"))
{
    Console.Error.WriteLine($"live: live move of an idle 256 MiB guest against a bare QEMU migration, {runs} rounds");
    await LiveBench.RunAsync(runs, report);
    Console.WriteLine();
    report.Print();
    return;
}
// Only the cost of auditing (AuditBench): pause/resume pairs against the same daemon binary with the audit log on and off.
if (args.Contains("--only-audit"))
{
    Console.Error.WriteLine($"audit: {runs} ws pause/resume pairs each with the audit log on and off, interleaved");
    await AuditBench.RunAsync(runs, report);
    Console.WriteLine();
    report.Print();
    return;
}
if (onlyFederation)
{
    await PullBench.RunAsync(pullRuns, senderRate, pullProfile, report);
    Console.WriteLine();
    report.Print();
    return;
}
var guest = await TestGuest.GetAsync();
// Only launch against bare QEMU (issue 16's +10 ms), with the daemon's trace of each step.
bool onlyLaunch = args.Contains("--only-launch");
if (!onlyFactory)
await using (var daemon = new DaemonProcess())
{
    daemon.Environment[LaunchBench.TraceLogging.Key] = LaunchBench.TraceLogging.Value;
    await daemon.StartAsync();
    await GuestImages.ImportAsync(daemon.Client);
    await using var virsh = libvirt && !onlyList ? await Libvirt.ConnectAsync(daemon.Dir, guest) : null;

    if (!onlyList)
    {
        Console.Error.WriteLine($"launch: {runs} runs each of workspacesd, bare qemu{(libvirt ? ", virsh create" : "")}");
        await LaunchBench.RunAsync(daemon, guest, virsh, runs, libvirtRuns, report);
        if (onlyLaunch)
        {
            Console.WriteLine();
            report.Print();
            return;
        }

        Console.Error.WriteLine("create from cache: 64 MiB against 4 GiB images");
        await CreateBench.RunAsync(daemon, runs * 2, report);
    }

    Console.Error.WriteLine("list with 100 workspaces defined, and daemon RSS");
    await ListBench.RunAsync(daemon, libvirt, runs * 3, libvirtDomains, report);
}
if (!onlyList)
await using (var daemon = await DaemonProcess.StartAsync())
{
    Console.Error.WriteLine($"factory: import 1 GiB, checkin of a 1 GiB delta, signature verification ({factoryRuns} runs)");
    await FactoryBench.RunAsync(daemon, factoryRuns, report);
}
Console.WriteLine();
report.Print();
