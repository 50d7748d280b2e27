using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// Sole owner of outbound connections to peers: one HttpClient per (address, pinned fingerprint),
/// HTTPS with TLS 1.3, this host's certificate presented, and the server accepted only if its
/// certificate is exactly the pinned one (no CA, no name check: the pin is the identity).
/// </summary>
public sealed class PeerChannel(PeerCertificate certificate) : IDisposable
{
    private readonly ConcurrentDictionary<(string Address, string Fingerprint, bool Proxy), HttpClient> _clients = new();

    public HttpClient For(string address, string fingerprint) => For(address, fingerprint, proxy: false);

    /// <summary>
    /// The pool for `ws --peer` (PeerProxy): a proxied request may hold its connection for hours (a
    /// followed console, the event stream), so proxied requests have connections of their own and never
    /// take those that checks, placement and pulls need.
    /// </summary>
    public HttpClient ForProxy(string address, string fingerprint) => For(address, fingerprint, proxy: true);

    private HttpClient For(string address, string fingerprint, bool proxy) =>
        _clients.GetOrAdd((address, fingerprint, proxy), key => Create(key.Address, key.Fingerprint));

    /// <summary>Closes pooled connections to a peer (removed or re-pinned): the next call handshakes again.</summary>
    public void Forget(string address, string fingerprint)
    {
        foreach (bool proxy in new[] { false, true })
            if (_clients.TryRemove((address, fingerprint, proxy), out var client)) client.Dispose();
        if (_streams.TryRemove((address, fingerprint), out var invoker)) invoker.Dispose();
    }

    private readonly ConcurrentDictionary<(string Address, string Fingerprint), HttpMessageInvoker> _streams = new();

    /// <summary>
    /// For tunnel streams (PeerTunnel's WebSockets): the same pinned TLS, in a pool of their own, since a
    /// stream holds its connection for the whole migration.
    /// </summary>
    public HttpMessageInvoker StreamInvoker(string address, string fingerprint) =>
        _streams.GetOrAdd((address, fingerprint), key => new HttpMessageInvoker(Handler(key.Fingerprint)));

    private HttpClient Create(string address, string fingerprint) =>
        new(Handler(fingerprint)) { BaseAddress = new Uri($"https://{address}/"), Timeout = Timeout.InfiniteTimeSpan };

    private SocketsHttpHandler Handler(string fingerprint) =>
        new()
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            MaxConnectionsPerServer = 32,
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = "workspacesd",
                EnabledSslProtocols = SslProtocols.Tls13,
                LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate.Certificate,
                ClientCertificates = [certificate.Certificate],
                RemoteCertificateValidationCallback = (_, presented, _, _) =>
                    presented is not null && PeerCertificate.FingerprintOf(presented) == fingerprint,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            },
        };

    public void Dispose()
    {
        foreach (var client in _clients.Values) client.Dispose();
        _clients.Clear();
        foreach (var invoker in _streams.Values) invoker.Dispose();
        _streams.Clear();
    }
}
