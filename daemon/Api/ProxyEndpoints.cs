using Microsoft.AspNetCore.Http.Features;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;

namespace Workspaces.Daemon.Api;

/// <summary>
/// `ws --peer PEER COMMAND`: /v1/peers/{name}/proxy/... on the local socket (admins) relays to the
/// peer's /v1/peer/proxy/... (mTLS), which runs it against its own local API as its admins. Method,
/// query, the headers that matter and the body go through streamed, and so does the answer.
/// </summary>
public static class ProxyEndpoints
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    /// <summary>Request headers that change what the answer is; the rest (host, connection, credentials) stay on their own hop.</summary>
    private static readonly string[] RequestHeaders = ["Accept", "Range", "If-Range", "If-None-Match"];

    private static readonly string[] ResponseHeaders = ["Content-Range", "Accept-Ranges", "ETag", "Location", "Retry-After", "Last-Modified"];

    public static void MapProxyEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapMethods("/peers/{name}/proxy/{**path}", Methods, async (HttpContext context, string name, PeerProxy proxy) =>
        {
            context.RequireAdmin("act through peers");
            var (path, query) = PeerProxyPath.Check(RawTarget(context), $"/v1/peers/{name}/proxy/");
            using var request = Forwarded(context, path);
            using var response = await proxy.SendToPeerAsync(name, path, query, request, context.RequestAborted);
            await RelayAsync(response, context);
        }).WithSummary("run a request on a peer as its admins (admins): GET|POST|PUT|PATCH|DELETE, path under "
            + string.Join(", ", PeerProxyPath.Allowed) + "; `ws --peer PEER ...`");

        // Peers act as this host's admins (see PeerProxy): the request runs on the local socket as root.
        v1.MapMethods("/peer/proxy/{**path}", Methods, async (HttpContext context, PeerProxy proxy) =>
        {
            PeerGate.PeerName(context);
            var (path, query) = PeerProxyPath.Check(RawTarget(context), PeerProxy.PeerPrefix + "/");
            using var request = Forwarded(context, path);
            using var response = await proxy.SendToSelfAsync(path, query, request, context.RequestAborted);
            await RelayAsync(response, context);
        }).WithSummary("peer API: run a request against this host's local API as its admins (the path allow-listed as on /v1/peers/{name}/proxy)");
    }

    private static string RawTarget(HttpContext context) =>
        context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : context.Request.Path + context.Request.QueryString;

    /// <summary>The request to send on: method, the headers that matter, and the body streamed (bounded as the local API bounds it).</summary>
    private static HttpRequestMessage Forwarded(HttpContext context, string path)
    {
        var incoming = context.Request;
        PeerProxyPath.CheckBody(incoming.Method, path, incoming.ContentType);
        var request = new HttpRequestMessage(new HttpMethod(incoming.Method), (Uri?)null);
        foreach (string header in RequestHeaders)
            if (incoming.Headers.TryGetValue(header, out var values)) request.Headers.TryAddWithoutValidation(header, (IEnumerable<string?>)values);
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            // Image uploads are as large as images, as on the local API (ImageEndpoints); anything else keeps the JSON limit.
            if (path == "/v1/images" && HttpMethods.IsPost(incoming.Method)
                && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = null;
            else if (incoming.ContentLength > ApiLimits.MaxJsonBody)
                throw new WorkspacesException(413, "Payload too large", $"a request body may be {ApiLimits.MaxJsonBody} bytes at most");
            request.Content = new StreamContent(incoming.Body, 64 << 10);
            if (incoming.ContentType is { } type) request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            if (incoming.ContentLength is { } length) request.Content.Headers.ContentLength = length;
        }
        return request;
    }

    /// <summary>Status, the headers that matter and the body, flushed as it comes (a followed console must show each line when it is written).</summary>
    private static async Task RelayAsync(HttpResponseMessage response, HttpContext context)
    {
        var ct = context.RequestAborted;
        context.Response.StatusCode = (int)response.StatusCode;
        if (response.Content.Headers.ContentType is { } type) context.Response.ContentType = type.ToString();
        if (response.Content.Headers.ContentLength is { } length) context.Response.ContentLength = length;
        foreach (string header in ResponseHeaders)
            if (response.Headers.TryGetValues(header, out var values) || response.Content.Headers.TryGetValues(header, out values))
                context.Response.Headers[header] = values.ToArray();
        // The headers now: a stream that writes nothing yet (events) must still show its caller that it is open.
        await context.Response.StartAsync(ct);
        await context.Response.Body.FlushAsync(ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[64 << 10];
        int n;
        while ((n = await body.ReadAsync(buffer, ct)) > 0)
        {
            await context.Response.Body.WriteAsync(buffer.AsMemory(0, n), ct);
            await context.Response.Body.FlushAsync(ct);
        }
    }
}
