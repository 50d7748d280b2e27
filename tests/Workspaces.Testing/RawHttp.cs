using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Workspaces.Testing;

/// <summary>HTTP over the daemon's socket without the typed client, to send what a well-behaved client never would.</summary>
public sealed class RawHttp(string socket) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
            return new NetworkStream(s, ownsSocket: true);
        },
    }) { BaseAddress = new Uri("http://workspaces/") };

    public sealed record Answer(int Status, string? ContentType, string Body)
    {
        public string Detail => JsonDocument.Parse(Body).RootElement.GetProperty("detail").GetString()!;
    }

    public async Task<Answer> SendAsync(HttpMethod method, string path, HttpContent? content = null)
    {
        using var response = await _http.SendAsync(new HttpRequestMessage(method, path) { Content = content });
        return new Answer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    public Task<Answer> PostJsonAsync(string path, string json) =>
        SendAsync(HttpMethod.Post, path, new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>
    /// A GET whose answer streams (GET /v1/events): returns once the answer's headers have arrived,
    /// with the body left to read. The caller disposes the stream.
    /// </summary>
    public async Task<Stream> OpenAsync(string path, CancellationToken ct)
    {
        var response = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode)
        {
            string body = await response.Content.ReadAsStringAsync(ct);
            response.Dispose();
            throw new HttpRequestException($"GET {path}: {(int)response.StatusCode} {body}");
        }
        return await response.Content.ReadAsStreamAsync(ct);
    }

    /// <summary>
    /// Sends request headers promising more body than is sent, then ends its side of the connection: a
    /// truncated upload. beforeCut, if given, runs between the part sent and the cut (to wait until the
    /// daemon has begun on the body). Returns once the daemon has reacted (answered and closed, or just
    /// closed), with the status it answered, or null if it closed without an answer; a daemon that does
    /// neither within the limit (30 s by default) is a TimeoutException.
    /// </summary>
    public static async Task<int?> SendTruncatedAsync(string socket, string path, string contentType, byte[] head, long promisedLength,
        Func<Task>? beforeCut = null, TimeSpan? limit = null)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(socket));
        string headers = $"POST {path} HTTP/1.1\r\nHost: workspaces\r\nContent-Type: {contentType}\r\nContent-Length: {promisedLength}\r\n\r\n";
        var received = new MemoryStream();
        var buffer = new byte[4096];
        using var cut = new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(30));
        try
        {
            await s.SendAsync(Encoding.ASCII.GetBytes(headers));
            await s.SendAsync(head);
            if (beforeCut is not null) await beforeCut();
            s.Shutdown(SocketShutdown.Send); // the body ends here, short of what was promised
            int n;
            while ((n = await s.ReceiveAsync(buffer, SocketFlags.None, cut.Token)) > 0) received.Write(buffer, 0, n);
        }
        catch (SocketException) { } // the daemon answered (or not) and reset the connection
        catch (OperationCanceledException) when (cut.IsCancellationRequested)
        {
            throw new TimeoutException($"the daemon neither answered nor closed a truncated upload to {path} within {(limit ?? TimeSpan.FromSeconds(30)).TotalSeconds:0} s");
        }
        string text = Encoding.ASCII.GetString(received.ToArray());
        return text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && text.Split(' ') is [_, var code, ..] && int.TryParse(code, out int status)
            ? status : null;
    }

    /// <summary>
    /// Sends request headers and part of the promised body, then goes silent; returns once the daemon
    /// closes the connection (or the limit passes: the caller sees how long it was held).
    /// </summary>
    public static async Task SendStalledAsync(string socket, string path, string contentType, byte[] head, long promisedLength, TimeSpan limit)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(socket));
        var buffer = new byte[4096];
        using var cut = new CancellationTokenSource(limit);
        try
        {
            await s.SendAsync(Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: workspaces\r\nContent-Type: {contentType}\r\nContent-Length: {promisedLength}\r\n\r\n"));
            await s.SendAsync(head); // refused at once (403 to a user), the daemon may already have closed
            while (await s.ReceiveAsync(buffer, SocketFlags.None, cut.Token) > 0) { }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException) { }
    }

    /// <summary>
    /// One request on its own connection, written by hand (any method, any body, however large); the
    /// answer is read even when the daemon stops reading the body early and closes.
    /// </summary>
    public static Task<Answer> SendBodyAsync(string socket, string method, string path, string? contentType, byte[] body)
    {
        string head = $"{method} {path} HTTP/1.1\r\nHost: workspaces\r\nContent-Length: {body.Length}\r\nConnection: close\r\n" +
                      (contentType is null ? "" : $"Content-Type: {contentType}\r\n") + "\r\n";
        return SendBytesAsync(socket, [.. Encoding.ASCII.GetBytes(head), .. body]);
    }

    /// <summary>Any bytes at all as a request (a garbled request line, a header bomb); the daemon's answer parsed.</summary>
    public static async Task<Answer> SendBytesAsync(string socket, byte[] request)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(socket));
        try
        {
            for (int at = 0; at < request.Length; at += 1 << 20)
                await s.SendAsync(request.AsMemory(at, Math.Min(1 << 20, request.Length - at)));
        }
        catch (SocketException) { } // the daemon answered and closed before taking it all
        var received = new MemoryStream();
        var buffer = new byte[64 << 10];
        try
        {
            int n;
            while ((n = await s.ReceiveAsync(buffer)) > 0) received.Write(buffer, 0, n);
        }
        catch (SocketException) when (received.Length > 0) { }
        string text = Encoding.UTF8.GetString(received.ToArray());
        int split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (split < 0) throw new IOException(text.Length == 0 ? "the daemon closed the connection without an answer" : $"no HTTP answer: '{text}'");
        var headers = text[..split].Split("\r\n");
        int status = int.Parse(headers[0].Split(' ')[1]);
        string? type = headers.Skip(1).Select(h => h.Split(':', 2)).Where(h => h[0].Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            .Select(h => h[1].Trim().Split(';')[0]).FirstOrDefault();
        string payload = text[(split + 4)..];
        if (headers.Any(h => h.StartsWith("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))) payload = Unchunk(payload);
        return new Answer(status, type, payload);
    }

    private static string Unchunk(string chunked)
    {
        var body = new StringBuilder();
        int at = 0;
        while (true)
        {
            int eol = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
            if (eol < 0) return body.ToString(); // cut off mid-answer: the status line said what mattered
            int size = Convert.ToInt32(chunked[at..eol], 16);
            if (size == 0 || eol + 2 + size > chunked.Length) return body.ToString();
            body.Append(chunked, eol + 2, size);
            at = eol + 2 + size + 2;
        }
    }

    public void Dispose() => _http.Dispose();
}
