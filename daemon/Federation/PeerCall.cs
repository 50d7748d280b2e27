using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Workspaces.Client;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// One request to a peer, its failures made plain: no answer, a certificate that is not the pinned
/// one, or a peer that does not accept this host are each a PeerFailure naming the peer; a problem
/// the peer answered keeps its status and says which peer answered it.
/// </summary>
public static class PeerCall
{
    public static async Task<T> GetAsync<T>(HttpClient http, string peer, string path, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await SendAsync(http, peer, new HttpRequestMessage(HttpMethod.Get, path), ct);
        return await ReadAsync(response, peer, type, ct);
    }

    public static async Task<TResult> PostAsync<TBody, TResult>(HttpClient http, string peer, string path, TBody body,
        JsonTypeInfo<TBody> bodyType, JsonTypeInfo<TResult> resultType, CancellationToken ct)
    {
        using var response = await SendAsync(http, peer, new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body, bodyType) }, ct);
        return await ReadAsync(response, peer, resultType, ct);
    }

    /// <summary>Sends and checks the status; the caller owns the response (streams its body).</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, string peer, HttpRequestMessage request, CancellationToken ct,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, completion, ct);
        }
        catch (HttpRequestException e)
        {
            string at = $"peer '{peer}' at {http.BaseAddress?.Authority}";
            throw e.InnerException switch
            {
                AuthenticationException => new PeerFailure(PeerFault.NotPinned, $"{at} presented a certificate that is not the one pinned for it"),
                SocketException s => new PeerFailure(PeerFault.Unreachable, $"{at} is unreachable ({s.SocketErrorCode})"),
                IOException => new PeerFailure(PeerFault.RefusedUs, $"{at} closed the connection at the TLS handshake: it does not accept this host's certificate"),
                _ => new PeerFailure(PeerFault.Unreachable, $"{at} is unreachable ({e.HttpRequestError})"),
            };
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new PeerFailure(PeerFault.Unreachable, $"peer '{peer}' at {http.BaseAddress?.Authority} did not answer in time");
        }
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            Problem? problem = null;
            try { problem = await response.Content.ReadFromJsonAsync(WorkspacesJson.Default.Problem, ct); }
            catch (Exception e) when (e is JsonException or NotSupportedException or HttpRequestException) { }
            throw new WorkspacesException((int)response.StatusCode is >= 400 and < 600 and var status ? status : 502,
                problem?.Title ?? "Peer error", $"peer '{peer}': {problem?.Detail ?? response.ReasonPhrase ?? response.StatusCode.ToString()}")
            { Offer = problem?.Offer };
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, string peer, JsonTypeInfo<T> type, CancellationToken ct)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync(type, ct)
                   ?? throw new WorkspacesException(502, "Peer error", $"peer '{peer}' answered an empty body");
        }
        catch (JsonException e)
        {
            throw new WorkspacesException(502, "Peer error", $"peer '{peer}' answered JSON this host does not understand: {e.Message}");
        }
    }
}
