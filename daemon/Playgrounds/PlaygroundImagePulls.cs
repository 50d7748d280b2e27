using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Operations;
using Workspaces.Daemon.Core;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// Fetches the images an apply needs where its members are to be made, by fingerprint: pinned images
/// this host lacks, and the image of each member placed on a host (this one or a peer) that lacks it,
/// pulled by that host from its peers (the federation's own pull there: only missing blobs travel, and
/// the chain passes that host's trust policy). A pull that fails refuses the apply naming the image and
/// the host, before any member is made.
/// </summary>
public sealed class PlaygroundImagePulls(ImagePull pull, PlaygroundPeers peers, ILogger<PlaygroundImagePulls> logger)
{
    public async Task PullAsync(PlaygroundChanges changes, Caller caller, CancellationToken ct)
    {
        foreach (var role in changes.Pulls)
        {
            string fingerprint = role.Fingerprint!;
            PlaygroundIdentityLog.Pulling(logger, changes.Document.Name, role.Image, fingerprint[..12]);
            if (await PullHereAsync(fingerprint, caller, ct) is { } error)
                throw PlaygroundParser.Refuse(role.FingerprintLine, $"roles.{role.Name}.fingerprint",
                    $"image {Names.Quote(role.Image)} ({fingerprint}) is not on this host and could not be pulled from peers: {error}; nothing was created");
        }
        // Placed members whose host lacks their image: each host pulls each such image once, all hosts at once.
        var wanted = changes.Create.Where(m => m.Pull is not null).GroupBy(m => (m.Host, m.Pull!)).Select(g => g.First()).ToList();
        var failures = await Task.WhenAll(wanted.Select(async Task<(PlaygroundMember Member, string Host, string Error)?> (m) =>
        {
            string host = m.Host ?? PlaygroundPlanner.ThisHost;
            PlaygroundTrustLog.PeerPulling(logger, changes.Document.Name, host, m.Role.Image, m.Pull![..12]);
            string? error;
            try
            {
                error = m.Host is { } peer ? await PullThereAsync(peer, m.Pull, ct) : await PullHereAsync(m.Pull, caller, ct);
            }
            catch (Exception e) when (e is WorkspacesException or HttpRequestException)
            {
                error = e.Message;
            }
            return error is null ? null : (m, host, error);
        }));
        if (failures.FirstOrDefault(f => f is not null) is var (failedMember, failedHost, failedError))
            throw PlaygroundParser.Refuse(failedMember.Role.ImageLine, $"roles.{failedMember.Role.Name}.image",
                $"image {Names.Quote(failedMember.Role.Image)} ({failedMember.Pull}) could not be pulled by {failedHost}, where member {failedMember.Name} was placed: {failedError}; nothing was created");
    }

    /// <summary>Null when the image came; else why not.</summary>
    private async Task<string?> PullHereAsync(string fingerprint, Caller caller, CancellationToken ct)
    {
        var op = pull.Start(new PullImageRequest(fingerprint), caller);
        await op.Finished.WaitAsync(ct);
        return op.Status == OperationStatus.Done ? null : op.Error ?? op.Status.ToString();
    }

    private async Task<string?> PullThereAsync(string peer, string fingerprint, CancellationToken ct)
    {
        var done = await peers.PullAsync(peer, fingerprint, ct);
        return done.Status == OperationStatus.Done ? null : done.Error ?? done.Status.ToString();
    }
}
