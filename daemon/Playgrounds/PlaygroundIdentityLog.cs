namespace Workspaces.Daemon.Playgrounds;

/// <summary>Log lines of playground identity, export and pinned-image pulls (EventIds 9900-9949).</summary>
internal static partial class PlaygroundIdentityLog
{
    [LoggerMessage(EventId = 9900, Level = LogLevel.Information, Message = "Playground {Name}: pulling pinned image {Image} ({Fingerprint}) from peers")]
    public static partial void Pulling(ILogger logger, string name, string image, string fingerprint);

    [LoggerMessage(EventId = 9901, Level = LogLevel.Information, Message = "Playground {Name} exported with {Images} pinned image(s)")]
    public static partial void Exported(ILogger logger, string name, int images);
}
