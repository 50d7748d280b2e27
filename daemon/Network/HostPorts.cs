using System.Globalization;

namespace Workspaces.Daemon.Network;

/// <summary>Whether a process on this host already has a port: read from /proc/net (listening TCP, bound UDP).</summary>
public static class HostPorts
{
    private const string TcpListen = "0A";

    public static bool InUse(string protocol, int port)
    {
        foreach (var table in new[] { $"/proc/net/{protocol}", $"/proc/net/{protocol}6" })
        {
            if (!File.Exists(table)) continue;
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // "  sl  local_address rem_address   st ...": local_address is HEXADDR:HEXPORT.
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 4) continue;
                if (protocol == "tcp" && fields[3] != TcpListen) continue;
                string local = fields[1];
                if (int.Parse(local[(local.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port) return true;
            }
        }
        return false;
    }
}
