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

    /// <summary>Sends request headers promising more body than is sent, then hangs up: a truncated upload.</summary>
    public static async Task SendTruncatedAsync(string socket, string path, string contentType, byte[] head, long promisedLength)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(socket));
        string headers = $"POST {path} HTTP/1.1\r\nHost: workspaces\r\nContent-Type: {contentType}\r\nContent-Length: {promisedLength}\r\n\r\n";
        await s.SendAsync(Encoding.ASCII.GetBytes(headers));
        await s.SendAsync(head);
        await Task.Delay(200);
        s.Shutdown(SocketShutdown.Both);
    }

    public void Dispose() => _http.Dispose();
}
