using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Workspaces.Daemon.Systemd;

/// <summary>
/// Sends entries to journald over its native protocol: one datagram per entry on
/// /run/systemd/journal/socket, "KEY=value" lines; a value holding a newline goes as KEY, newline, its
/// length (64-bit little endian), the bytes, newline. No libsystemd needed. Fields are upper-case
/// ASCII, as journald requires (it drops others), so `journalctl WORKSPACE=web1` finds them.
/// </summary>
public sealed class JournalSink : IDisposable
{
    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endpoint;

    public JournalSink(string socketPath)
    {
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _endpoint = new UnixDomainSocketEndPoint(socketPath);
    }

    /// <summary>Running under systemd: it sets INVOCATION_ID for every unit it starts, JOURNAL_STREAM when stdout goes to the journal.</summary>
    public static bool UnderSystemd =>
        Environment.GetEnvironmentVariable("INVOCATION_ID") is { Length: > 0 } || Environment.GetEnvironmentVariable("JOURNAL_STREAM") is { Length: > 0 };

    /// <summary>Sends one entry; false when journald is not there or refused it (the audit file is the record, the journal a copy).</summary>
    public bool TrySend(IEnumerable<KeyValuePair<string, string>> fields)
    {
        try
        {
            _socket.SendTo(Format(fields), SocketFlags.None, _endpoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static byte[] Format(IEnumerable<KeyValuePair<string, string>> fields)
    {
        var buffer = new MemoryStream();
        Span<byte> length = stackalloc byte[8];
        foreach (var (key, value) in fields)
        {
            buffer.Write(Encoding.ASCII.GetBytes(key));
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            if (Array.IndexOf(bytes, (byte)'\n') < 0)
            {
                buffer.WriteByte((byte)'=');
                buffer.Write(bytes);
            }
            else
            {
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)bytes.Length);
                buffer.WriteByte((byte)'\n');
                buffer.Write(length);
                buffer.Write(bytes);
            }
            buffer.WriteByte((byte)'\n');
        }
        return buffer.ToArray();
    }

    public void Dispose() => _socket.Dispose();
}
