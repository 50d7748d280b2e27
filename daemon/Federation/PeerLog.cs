namespace Workspaces.Daemon.Federation;

internal static partial class PeerLog
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Peer {Name} at {Address} recorded ({Fingerprint})")]
    public static partial void Joined(ILogger logger, string name, string address, string fingerprint);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Peer {Name} removed ({Fingerprint})")]
    public static partial void Removed(ILogger logger, string name, string fingerprint);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Peer {Name}: keys not learnt yet ({Why}); the next check that reaches it records them")]
    public static partial void KeysLater(ILogger logger, string name, string why);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Peer listener refused a TLS handshake from {Remote}: certificate {Fingerprint} is not a peer's")]
    public static partial void HandshakeRefused(ILogger logger, string remote, string fingerprint);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Peer {Name} is {State} ({Why})")]
    public static partial void Reachability(ILogger logger, string name, string state, string why);
}
