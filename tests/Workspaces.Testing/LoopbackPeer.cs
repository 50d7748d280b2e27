using System.Net;
using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Trust;

namespace Workspaces.Testing;

/// <summary>
/// Two hosts' peer identities (real PeerCertificates, each from its own host key) and, for the destination,
/// a TLS 1.3 listener on loopback requiring the source's certificate and serving the stream route the
/// way PeerStreamEndpoints does (without the daemon's database: the pin is checked at the handshake).
/// The source reaches it with the real PeerChannel and PeerTunnel.
/// </summary>
public sealed class LoopbackPeer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dir;
    private readonly HostIdentity _sourceHost, _destinationHost;

    public PeerCertificate Source { get; }
    public PeerCertificate Destination { get; }
    public PeerStreams Streams { get; }
    public PeerChannel Channel { get; }
    public string Address { get; }

    private LoopbackPeer(string dir, HostIdentity sourceHost, HostIdentity destinationHost, PeerCertificate source, PeerCertificate destination, PeerStreams streams, WebApplication app, string address)
    {
        (_dir, _sourceHost, _destinationHost, Source, Destination, Streams, _app, Address) = (dir, sourceHost, destinationHost, source, destination, streams, app, address);
        Channel = new PeerChannel(source);
    }

    public static async Task<LoopbackPeer> StartAsync()
    {
        string dir = Directory.CreateTempSubdirectory("ws-live-peer-").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "a"));
        Directory.CreateDirectory(Path.Combine(dir, "b"));
        var sourceHost = new HostIdentity(Path.Combine(dir, "a"));
        var destinationHost = new HostIdentity(Path.Combine(dir, "b"));
        var source = new PeerCertificate(Path.Combine(dir, "a"), sourceHost);
        var destination = new PeerCertificate(Path.Combine(dir, "b"), destinationHost);
        var streams = new PeerStreams(TimeProvider.System);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = destination.Certificate,
                SslProtocols = SslProtocols.Tls13,
                ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                ClientCertificateValidation = (presented, _, _) => PeerCertificate.FingerprintOf(presented) == source.Fingerprint,
            });
        }));
        var app = builder.Build();
        app.UseWebSockets();
        app.MapGet("/v1/peer/streams/{id}", async (HttpContext context, string id) =>
        {
            using var socket = await streams.OpenAsync(id, PeerCertificate.FingerprintOf(context.Connection.ClientCertificate!), context.RequestAborted);
            using var webSocket = await context.WebSockets.AcceptWebSocketAsync();
            await StreamPipe.RunAsync(socket, webSocket, context.RequestAborted);
        });
        await app.StartAsync();
        string address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Authority;
        return new LoopbackPeer(dir, sourceHost, destinationHost, source, destination, streams, app, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Channel.Dispose();
        Source.Dispose();
        Destination.Dispose();
        _sourceHost.Dispose();
        _destinationHost.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
