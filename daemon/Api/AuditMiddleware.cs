using Microsoft.AspNetCore.Connections.Features;
using Workspaces.Client;
using Workspaces.Daemon.Audit;
using Workspaces.Daemon.Trust;
using Workspaces.Native;

namespace Workspaces.Daemon.Api;

/// <summary>
/// One audit record per state-changing request (POST, PUT, PATCH, DELETE), in one place for every route:
/// outside the error mapper, so it sees the final status, refusals included (with the problem's detail
/// as the reason), and requests refused before any endpoint ran (unknown callers, unknown routes).
/// Reads are not recorded. The record is queued, not awaited to disk: the writer bounds what a crash loses.
/// </summary>
public sealed class AuditMiddleware(RequestDelegate next, AuditLog audit)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!audit.Enabled || !(HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method)
                                || HttpMethods.IsPatch(request.Method) || HttpMethods.IsDelete(request.Method)))
        {
            await next(context);
            return;
        }
        var time = DateTimeOffset.UtcNow;
        // A JSON body is kept so that its harmless fields can be recorded; uploads (octet-stream, forms) are not.
        bool json = request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true
                    && request.ContentLength is null or <= ApiLimits.MaxJsonBody;
        // Copied as the endpoint reads it (what it never read, it did not act on); the body itself is left as it came.
        var recording = json ? new RecordingReadStream(request.Body, (int)ApiLimits.MaxJsonBody) : null;
        if (recording is not null) request.Body = recording;
        bool escaped = false;
        try
        {
            await next(context);
        }
        catch (Exception e)
        {
            // Past the error mapper only when the response had started or the client had gone.
            escaped = true;
            context.SetRefusal(e.Message);
            throw;
        }
        finally
        {
            await audit.RecordAsync(Entry(context, time, recording?.Copy, escaped));
        }
    }

    private static AuditEntry Entry(HttpContext context, DateTimeOffset time, byte[]? body, bool escaped)
    {
        var endpoint = context.GetEndpoint() as RouteEndpoint;
        var values = context.Request.RouteValues;
        string pattern = endpoint?.RoutePattern.RawText ?? context.Request.Path.Value ?? "";
        // The verb in the path is the action ("/workspaces/{name}/pause"); other parameters stay named.
        if (values.TryGetValue("action", out var verb) && verb is string action) pattern = pattern.Replace("{action}", action, StringComparison.Ordinal);
        var caller = context.TryGetCaller();
        string? target = null;
        uint? owner = null;
        if (values.TryGetValue("name", out var n) && n is string name)
        {
            string collection = pattern.Split('/', StringSplitOptions.RemoveEmptyEntries).Skip(1).FirstOrDefault() ?? "";
            target = collection + "/" + name;
            if (collection == "workspaces") owner = caller?.Namespace;
        }
        else if (pattern == "/v1/workspaces" && caller is not null) owner = caller.Namespace; // a create names its workspace in the body
        int status = context.Response.StatusCode;
        if (context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted) status = 499; // the client left first
        else if (escaped && status < 400) status = 500;
        return new AuditEntry(time, Actor(context, caller), $"{context.Request.Method} {pattern}", target, owner,
            AuditParameters.From(context, body), new AuditOutcome(status, status >= 400 ? context.Refusal() : null));
    }

    private static AuditActor Actor(HttpContext context, Core.Caller? caller)
    {
        // Checked first: reading Connection.ClientCertificate adds a TLS feature to a plain connection.
        if (PeerGate.OnPeerListener(context))
        {
            string? fingerprint = context.Connection.ClientCertificate is { } certificate ? PeerCertificate.FingerprintOf(certificate) : null;
            return new AuditActor(null, "tls", caller?.Peer, fingerprint);
        }
        if (caller is not null) return new AuditActor(caller.Uid, "socket");
        // Refused before a caller was made: who knocked is still the socket's peer.
        var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket;
        try
        {
            return new AuditActor(socket is null ? null : Libc.GetPeerCredentials(socket).Uid, "socket");
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ObjectDisposedException)
        {
            return new AuditActor(null, "socket");
        }
    }
}
