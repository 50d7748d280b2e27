namespace Workspaces.Daemon.Playgrounds;

/// <summary>Members on peers signed by their hosts, hosted members, pulls and disks on peers (wt-pgtrust: EventIds 10000-10049).</summary>
internal static partial class PlaygroundTrustLog
{
    [LoggerMessage(EventId = 10000, Level = LogLevel.Information, Message = "Playground {Name} (applied by {AppliedBy}): workspace {Member} is hosted here as its member")]
    public static partial void Hosted(ILogger logger, string name, string appliedBy, string member);

    [LoggerMessage(EventId = 10001, Level = LogLevel.Information, Message = "Playground {Name}: host {Host} pulls image {Image} ({Fingerprint}) for its member(s)")]
    public static partial void PeerPulling(ILogger logger, string name, string host, string image, string fingerprint);

    [LoggerMessage(EventId = 10002, Level = LogLevel.Warning, Message = "Playground {Name}: no identity document for its members: {Reason}")]
    public static partial void NotIssued(ILogger logger, string name, string reason);
}
