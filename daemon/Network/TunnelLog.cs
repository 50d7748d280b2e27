namespace Workspaces.Daemon.Network;

internal static partial class TunnelLog
{
    [LoggerMessage(EventId = 9500, Level = LogLevel.Information, Message = "WireGuard interface {Interface} is not up: starting wireguard-go")]
    public static partial void Starting(ILogger logger, string @interface);

    [LoggerMessage(EventId = 9501, Level = LogLevel.Information, Message = "Spanning network VNI {Vni} on {Bridge}: VXLAN to {Remotes}")]
    public static partial void Spanned(ILogger logger, int vni, string bridge, string remotes);
}
