using Workspaces.Daemon.Core;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Workspaces;
using Workspaces.Native;

namespace Workspaces.Daemon.Api;

/// <summary>
/// Turns the connection's SO_PEERCRED into a Caller. Root and members of the socket group are
/// admins; anyone else is a user, admitted only when the config allows users.
/// Supplementary groups are read from /proc/PID/status of the peer: they are the calling
/// process's real groups, not what the group database says a user could have.
/// </summary>
public sealed class CallerResolver
{
    private readonly uint? _adminGid;
    private readonly IOptionsMonitor<WorkspacesOptions> _options;

    public CallerResolver(IOptionsMonitor<WorkspacesOptions> options)
    {
        _options = options;
        _adminGid = Libc.GetGroupId(options.CurrentValue.SocketGroup);
    }

    public uint? AdminGroupId => _adminGid;

    public Caller? Resolve(HttpContext context)
    {
        var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket;
        if (socket is null) return null;
        var peer = Libc.GetPeerCredentials(socket);
        bool admin = peer.Uid == 0 || (_adminGid is { } gid && (peer.Gid == gid || SupplementaryGroups(peer.Pid).Contains(gid)));
        if (!admin && !_options.CurrentValue.AllowUsers) return null;
        return new Caller(peer.Uid, admin, peer.Pid) { ChosenOwner = ChosenOwner(context, peer.Uid, admin) };
    }

    /// <summary>Whose workspace names the request means: ?owner=UID lets an admin act in a user's; anyone may name their own.</summary>
    private static uint? ChosenOwner(HttpContext context, uint uid, bool admin)
    {
        if (!context.Request.Query.TryGetValue("owner", out var values)) return null;
        if (values.Count != 1 || !uint.TryParse(values[0], System.Globalization.NumberStyles.None, null, out uint owner))
            throw WorkspacesException.BadRequest($"owner must be one uid (a decimal number), not {Names.Quote(values.ToString())}");
        if (owner != uid && !admin) throw WorkspacesException.Forbidden("only root and the workspaces group may act on another user's workspaces");
        return owner;
    }

    private static IEnumerable<uint> SupplementaryGroups(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("Groups:", StringComparison.Ordinal));
            if (line is null) return [];
            return line["Groups:".Length..].Split(' ', '\t', StringSplitOptions.RemoveEmptyEntries).Select(uint.Parse).ToArray();
        }
        catch (IOException)
        {
            return [];
        }
    }
}
