namespace Workspaces.Daemon.Network;

internal static partial class SpanLog
{
    [LoggerMessage(EventId = 9510, Level = LogLevel.Warning, Message = "Spanning networks are not all connected: {Why}; trying again at the next peer check")]
    public static partial void NotSpanned(ILogger logger, string why);

    [LoggerMessage(EventId = 10050, Level = LogLevel.Warning, Message = "Spanning network {Network} was made with MTU {Mtu}, but this host's underlay now leaves WireGuard {WireGuardMtu}: its guests' largest frames are lost until the underlay's MTU is raised back")]
    public static partial void UnderlayShrank(ILogger logger, string network, int mtu, int wireGuardMtu);

    [LoggerMessage(EventId = 10051, Level = LogLevel.Information, Message = "Spanning network {Network} now spans {Span}")]
    public static partial void Grown(ILogger logger, string network, string span);
}
