using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Operations;
using Workspaces.Daemon.Core;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// Fetches the pinned images an apply needs and this host lacks, from peers by fingerprint (the
/// federation's own pull: only missing blobs travel, and the chain passes this host's trust policy).
/// A pull that fails refuses the apply naming the image, before any member is made.
/// </summary>
public sealed class PlaygroundImagePulls(ImagePull pull, ILogger<PlaygroundImagePulls> logger)
{
    public async Task PullAsync(PlaygroundChanges changes, Caller caller, CancellationToken ct)
    {
        foreach (var role in changes.Pulls)
        {
            string fingerprint = role.Fingerprint!;
            PlaygroundIdentityLog.Pulling(logger, changes.Document.Name, role.Image, fingerprint[..12]);
            var op = pull.Start(new PullImageRequest(fingerprint), caller);
            await op.Finished.WaitAsync(ct);
            if (op.Status != OperationStatus.Done)
                throw PlaygroundParser.Refuse(role.FingerprintLine, $"roles.{role.Name}.fingerprint",
                    $"image {Names.Quote(role.Image)} ({fingerprint}) is not on this host and could not be pulled from peers: {op.Error}; nothing was created");
        }
    }
}
