using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// Asks every peer how it is, every peers.checkIntervalSeconds and on demand: reachability (an event
/// when it changes), round-trip time, free capacity, image count. Also where a peer pinned by hand
/// first shows its keys. Holds only the last answer per peer.
/// </summary>
public sealed class PeerMonitor(PeerDirectory directory, PeerRepository peers, EventBus events, Network.NetworkService spans,
    IOptionsMonitor<WorkspacesOptions> options, ILogger<PeerMonitor> logger) : BackgroundService
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(3);
    private readonly ConcurrentDictionary<string, PeerStatus> _status = new();

    public PeerStatus Status(string name) => _status.GetValueOrDefault(name, PeerStatus.Unknown);

    /// <summary>Checks every peer now, in parallel, and returns the fresh answers.</summary>
    public async Task<IReadOnlyDictionary<string, PeerStatus>> CheckAllAsync(CancellationToken ct)
    {
        var list = peers.List();
        var results = await Task.WhenAll(list.Select(p => CheckAsync(p, ct)));
        foreach (var gone in _status.Keys.Except(list.Select(p => p.Name))) _status.TryRemove(gone, out _);
        return list.Zip(results).ToDictionary(x => x.First.Name, x => x.Second);
    }

    public async Task<PeerStatus> CheckAsync(PeerRow peer, CancellationToken ct)
    {
        var before = Status(peer.Name);
        var clock = Stopwatch.StartNew();
        PeerStatus now;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(CheckTimeout);
            var summary = await directory.LearnKeysAsync(peer, timeout.Token);
            now = new PeerStatus(true, before.Reachable ? before.Since : DateTimeOffset.UtcNow, clock.Elapsed.TotalMilliseconds, summary, null);
        }
        catch (Exception e) when (e is WorkspacesException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            string why = e is WorkspacesException ? e.Message : $"no answer within {CheckTimeout.TotalSeconds:0} s";
            now = new PeerStatus(false, before.Reachable || before == PeerStatus.Unknown ? DateTimeOffset.UtcNow : before.Since, null, null, why);
        }
        _status[peer.Name] = now;
        if (before == PeerStatus.Unknown || before.Reachable != now.Reachable)
        {
            string state = now.Reachable ? "reachable" : "unreachable";
            PeerLog.Reachability(logger, peer.Name, state, now.Error ?? $"answered in {now.RoundTripMs:0} ms");
            events.Publish(new EventInfo(DateTimeOffset.UtcNow, "peer", null, state, now.Error, null, Peer: peer.Name), 0);
        }
        return now;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CheckAllAsync(stoppingToken);
                await spans.SuperviseAsync(stoppingToken);
                await Task.Delay(TimeSpan.FromSeconds(options.CurrentValue.Peers.CheckIntervalSeconds), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
