using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// At daemon start, settles the moves this host was the source of and left without an outcome, by asking
/// the destination (issue #13 item 8). Only moves stopped before Perform are settled here: nothing of the
/// workspace left this host then, so aborting is always safe, and the destination's Prepare record is closed
/// with it. A move recorded at Perform or later needs the transfer's own recovery (not built yet) and is left
/// for `ws move --recover`. An unreachable peer leaves the move as it is until the next start.
/// Runs in the background: a dead peer must not hold the daemon's start.
/// </summary>
public sealed class MigrationResolver(
    MigrationRepository migrations,
    PeerRepository peers,
    PeerChannel channel,
    TimeProvider clock,
    ILogger<MigrationResolver> logger) : IHostedService
{
    public Task StartAsync(CancellationToken ct)
    {
        var open = migrations.Unresolved().Where(m => m.Role == MigrationPhase.SourceRole && m.Outcome is null).ToList();
        if (open.Count == 0) return Task.CompletedTask;
        MigrationLog.Resolving(logger, open.Count);
        _ = Task.Run(() => ResolveAllAsync(open, CancellationToken.None), CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>Public for tests; each move is settled on its own, so one unreachable peer does not hold the others.</summary>
    public async Task ResolveAllAsync(IReadOnlyList<MigrationRow> open, CancellationToken ct)
    {
        foreach (var move in open)
        {
            try
            {
                await ResolveAsync(move, ct);
            }
            catch (WorkspacesException e)
            {
                MigrationLog.Unresolved(logger, move.Name, move.Peer, move.TicketHash[..12], e.Message);
            }
        }
    }

    private async Task ResolveAsync(MigrationRow move, CancellationToken ct)
    {
        if (move.Phase is not (MigrationPhase.Begin or MigrationPhase.Prepare))
        {
            MigrationLog.Unresolved(logger, move.Name, move.Peer, move.TicketHash[..12], $"recorded at {move.Phase}: run `ws move --recover`");
            return;
        }
        var peer = peers.Find(move.Peer);
        string why;
        if (peer is null)
            why = $"peer '{move.Peer}' is no longer a peer; nothing was sent before Perform";
        else
        {
            try
            {
                var answer = await PeerCall.PostAsync(channel.For(peer.Address, peer.TlsFingerprint), peer.Name,
                    $"v1/peer/migrations/{move.TicketHash}/abort", new PeerMigrationState(move.TicketHash, move.Phase, null, null),
                    WorkspacesJson.Default.PeerMigrationState, WorkspacesJson.Default.PeerMigrationState, ct);
                why = $"the source stopped at {move.Phase}, before anything moved; peer '{peer.Name}' closed its side ({answer.Outcome})";
            }
            catch (WorkspacesException e) when (e.Status == 404)
            {
                why = $"the source stopped at {move.Phase}; peer '{peer.Name}' never admitted the ticket";
            }
        }
        migrations.SetOutcome(move.TicketHash, MigrationOutcome.Failed, why, clock.GetUtcNow().ToUnixTimeMilliseconds());
        MigrationLog.Resolved(logger, move.Name, move.Peer, move.TicketHash[..12], MigrationOutcome.Failed, why);
    }
}
