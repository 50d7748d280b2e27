using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Net.Sockets;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The destination's side of the tunnel: one-time stream ids, each bound to a local Unix socket (the
/// incoming QEMU's migration or NBD socket) and to the one peer allowed to open it. An id is taken by
/// the first connection of that peer and never serves another; ids expire unused.
/// </summary>
public sealed class PeerStreams(TimeProvider clock)
{
    private sealed record Entry(string SocketPath, string Fingerprint, DateTimeOffset Expires);

    private readonly ConcurrentDictionary<string, Entry> _streams = new(StringComparer.Ordinal);

    public string Register(string socketPath, string peerFingerprint, TimeSpan lifetime)
    {
        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _streams[id] = new Entry(socketPath, peerFingerprint, clock.GetUtcNow() + lifetime);
        return id;
    }

    /// <summary>The socket a stream id leads to, for the peer presenting fingerprint; the id is used up.</summary>
    public string Take(string id, string peerFingerprint)
    {
        if (!_streams.TryGetValue(id, out var entry) || entry.Expires < clock.GetUtcNow())
        {
            _streams.TryRemove(id, out _);
            throw WorkspacesException.NotFound($"no stream {Core.Names.Quote(id)} is open on this host (unknown, used or expired)");
        }
        if (entry.Fingerprint != peerFingerprint)
            throw WorkspacesException.Forbidden($"stream {id} was opened for another peer");
        if (!_streams.TryRemove(new KeyValuePair<string, Entry>(id, entry)))
            throw WorkspacesException.NotFound($"stream {id} is already in use");
        return entry.SocketPath;
    }

    /// <summary>Takes the id (as Take) and connects to its socket; the caller pipes the peer's stream into it.</summary>
    public async Task<Socket> OpenAsync(string id, string peerFingerprint, CancellationToken ct)
    {
        string socketPath = Take(id, peerFingerprint);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw WorkspacesException.Conflict($"stream {id}: nothing listens on its socket any more ({e.SocketErrorCode})");
        }
    }

    /// <summary>Withdraws an id not used (the migration it was for ended).</summary>
    public void Revoke(string id) => _streams.TryRemove(id, out _);
}
