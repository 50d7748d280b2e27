using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// Detection: reads every workspace's violation counters in one nftables call per interval, keeps the
/// last values in memory, and reports a rise as one event and one decision record per workspace per
/// interval (a flood is one record with its count, not one per packet). When the violations within the
/// policy's window pass its threshold, the workspace is put in quarantine.
/// </summary>
public sealed class TrafficWatch(
    Firewall firewall,
    NetworkRepository networks,
    WorkspaceRepository workspaces,
    Quarantine quarantine,
    EventBus events,
    IAuditRecorder audit,
    IOptionsMonitor<WorkspacesOptions> options,
    ILogger<TrafficWatch> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, TrafficReading> _last = new();
    private readonly Dictionary<string, Queue<(DateTimeOffset At, long Count)>> _windows = new();
    private bool _baseline = true;

    public TrafficReading? Last(string workspaceId) => _last.TryGetValue(workspaceId, out var reading) ? reading : null;

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var interval = TimeSpan.FromSeconds(options.CurrentValue.Detection.IntervalSeconds); // a reload takes effect next round
            try { await Task.Delay(interval, ct); }
            catch (OperationCanceledException) { return; }
            try
            {
                await PollAsync(DateTimeOffset.UtcNow, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                QuarantineLog.PollFailed(logger, e);
            }
        }
    }

    /// <summary>One round: read, compare, report, and act where the policy says so.</summary>
    public async Task PollAsync(DateTimeOffset now, CancellationToken ct)
    {
        // Only running workspaces with an address have counters: with none, an idle host makes no nftables call
        // (and nothing counted before this daemon started can be among what comes next).
        if (networks.Leased().Count == 0)
        {
            _baseline = false;
            _last.Clear();
            _windows.Clear();
            return;
        }
        var read = firewall.ReadCounters();
        // The first round after the daemon starts only learns where counters stand: what they counted
        // before was reported by the daemon that was running then.
        bool baseline = _baseline;
        _baseline = false;
        foreach (var gone in _last.Keys.Except(read.Keys).ToList())
        {
            _last.TryRemove(gone, out _);
            _windows.Remove(gone);
        }
        foreach (var (id, counters) in read)
        {
            var before = _last.TryGetValue(id, out var previous) ? previous : null;
            _last[id] = new TrafficReading(counters, now);
            if (baseline) continue;
            var rise = counters.Since(before?.Counters ?? TrafficCounters.Zero);
            if (rise.Total == 0) continue;
            if (workspaces.FindById(id) is not { } row) continue;
            double seconds = Math.Round((now - (before?.At ?? now)).TotalSeconds, 1);
            Report(row, rise, seconds, now);
            await EnforceAsync(row, rise.Total, now, ct);
        }
    }

    private void Report(WorkspaceRow row, TrafficCounters rise, double seconds, DateTimeOffset now)
    {
        QuarantineLog.Violations(logger, row.Name, seconds, rise.Spoofed, rise.EgressRefused, rise.RateDropped);
        string reason = $"dropped in {seconds} s: {rise.Spoofed} spoofed, {rise.EgressRefused} refused by the egress allowlist, {rise.RateDropped} over the rate limit";
        var details = new Dictionary<string, string>
        {
            ["spoofed"] = rise.Spoofed.ToString(), ["egressRefused"] = rise.EgressRefused.ToString(),
            ["rateDropped"] = rise.RateDropped.ToString(), ["intervalSeconds"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        events.Publish(new EventInfo(now, "traffic.violation", row.Name, null, reason, null, row.Owner, Details: details), row.Owner);
        audit.Decided("traffic.violation", "workspaces/" + row.Name, row.Owner, new Dictionary<string, string>(details) { ["id"] = row.Id }, reason: reason);
    }

    private async Task EnforceAsync(WorkspaceRow row, long count, DateTimeOffset now, CancellationToken ct)
    {
        if (networks.NicOf(row.Id) is not { } nic) return;
        var policy = options.CurrentValue.Detection.For(nic.Network);
        if (!_windows.TryGetValue(row.Id, out var window)) _windows[row.Id] = window = new();
        window.Enqueue((now, count));
        while (window.Peek().At < now - TimeSpan.FromSeconds(policy.WindowSeconds)) window.Dequeue();
        long within = window.Sum(w => w.Count);
        if (policy.Action == "none" || within < policy.Threshold || quarantine.Of(row.Id) is not null) return;
        string reason = $"{within} violations within {policy.WindowSeconds} s (threshold {policy.Threshold} on network '{nic.Network}')";
        try
        {
            if (await quarantine.TakeAsync(row, policy.Action, reason, by: null, ct)) window.Clear();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            QuarantineLog.TakeFailed(logger, row.Name, e);
        }
    }
}
