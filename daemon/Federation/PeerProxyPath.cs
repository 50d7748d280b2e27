using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// What a request through a peer may name. Checked on the raw target as the client sent it (Kestrel
/// resolves dot segments in Request.Path before routing, so only the raw form shows them), on both
/// sides of the proxy. Only the resources a remote admin acts on pass: never /v1/peers or /v1/peer,
/// so there are no proxy chains and no peer management through a peer.
/// </summary>
public static class PeerProxyPath
{
    public static readonly string[] Allowed = ["/v1/workspaces", "/v1/images", "/v1/operations", "/v1/host", "/v1/networks", "/v1/events"];

    private const int MaxLength = 2048;

    /// <summary>
    /// The raw target's part after the prefix (e.g. "/v1/peers/host2/proxy/"), split into the path to
    /// forward (normalised, each segment escaped again) and the query as sent (without its '?').
    /// </summary>
    public static (string Path, string Query) Check(string rawTarget, string prefix)
    {
        int q = rawTarget.IndexOf('?');
        string rawPath = q < 0 ? rawTarget : rawTarget[..q], query = q < 0 ? "" : rawTarget[(q + 1)..];
        if (!rawPath.StartsWith(prefix, StringComparison.Ordinal))
            throw Refused($"the request's path does not start with {prefix}");
        string raw = rawPath[prefix.Length..];
        if (raw.Length > MaxLength) throw Refused($"a proxied path may be {MaxLength} characters long at most");
        if (rawTarget.Any(char.IsControl)) throw Refused("a proxied request may not contain control characters");
        // Names never contain '/', '\' or '%': an encoded one is a path in disguise, an encoded '%' a second round of decoding.
        if (raw.Contains("%2f", StringComparison.OrdinalIgnoreCase) || raw.Contains("%5c", StringComparison.OrdinalIgnoreCase))
            throw Refused("a proxied path may not contain an encoded '/' or '\\'");
        string decoded = Uri.UnescapeDataString(raw);
        // Left after one decoding: an encoded '%' (a second round waiting), or a '%' that encodes nothing.
        if (decoded.Contains('%')) throw Refused("a proxied path may not contain an encoded '%' or a stray one");
        if (decoded.Any(char.IsControl)) throw Refused("a proxied path may not contain control characters");
        if (decoded.Contains('\\')) throw Refused("a proxied path may not contain '\\'");
        string[] segments = decoded.Split('/');
        if (segments.Any(s => s.Length == 0)) throw Refused("a proxied path may not contain '//' or end with '/'");
        if (segments.Any(s => s is "." or "..")) throw Refused("a proxied path may not contain '.' or '..' segments");
        string path = "/" + string.Join('/', segments.Select(Uri.EscapeDataString));
        if (!Allowed.Any(a => path == a || path.StartsWith(a + "/", StringComparison.Ordinal)))
            throw WorkspacesException.Forbidden($"through a peer only {string.Join(", ", Allowed)} may be used, not {Core.Names.Quote(path)}");
        return (path, query);
    }

    /// <summary>
    /// An import by file descriptors names files on the caller's own host: on the peer they would be
    /// the peer daemon's own descriptors. Through a peer, images are uploaded (multipart or archive).
    /// </summary>
    public static void CheckBody(string method, string path, string? contentType)
    {
        if (HttpMethods.IsPost(method) && path == "/v1/images"
            && contentType is { } type && type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            throw WorkspacesException.BadRequest("an import of local files by descriptor cannot cross hosts: upload the files instead (ws --peer PEER image import does)");
    }

    private static WorkspacesException Refused(string why) => WorkspacesException.BadRequest($"refused to proxy: {why}");
}
