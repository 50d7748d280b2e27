namespace Workspaces.Daemon.Federation;

/// <summary>Log messages of pulls from peers, event ids 4020-4029.</summary>
internal static partial class PullLog
{
    [LoggerMessage(EventId = 4020, Level = LogLevel.Information, Message = "Pull of {Image}: {Blobs} blob(s), {Bytes} bytes to fetch from {Peers}")]
    public static partial void Started(ILogger logger, string image, int blobs, long bytes, string peers);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Information, Message = "Pull of blob {Blob}: {Resumed} of {Size} bytes were on disk already and are not fetched again")]
    public static partial void Resumed(ILogger logger, string blob, long resumed, long size);

    [LoggerMessage(EventId = 4022, Level = LogLevel.Warning, Message = "Pull of {Image}: peer {Peer} dropped for the rest of the pull: it {Why}")]
    public static partial void Dropped(ILogger logger, string peer, string image, string why);

    [LoggerMessage(EventId = 4023, Level = LogLevel.Information, Message = "Pulled {Image}: {Fetched} bytes fetched, {Resumed} resumed from disk, in {Seconds:0.0} s")]
    public static partial void Done(ILogger logger, string image, long fetched, long resumed, double seconds);

    [LoggerMessage(EventId = 4024, Level = LogLevel.Information, Message = "Resuming {Count} pull(s) a restart interrupted")]
    public static partial void ResumingAtStart(ILogger logger, int count);
}
