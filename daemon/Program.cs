using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;
using Workspaces.Daemon.Core;
using Workspaces.Daemon;
using Workspaces.Daemon.Api;
using Workspaces.Daemon.Audit;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.Operations;
using Workspaces.Daemon.Playgrounds;
using Workspaces.Daemon.Resources;
using Workspaces.Daemon.Systemd;
using Workspaces.Daemon.Workspaces;

// Host wiring only: configuration, services, systemd integration, Kestrel on the Unix socket and,
// when configured, on the peer listener.
// Inert: the app is built and its routes read, nothing runs (`workspacesd --routes`; the build's OpenAPI generator).
bool listRoutes = args.Contains(RouteTable.Flag);
bool inert = listRoutes || ApiDocument.IsBeingGenerated;
args = args.Where(a => a != RouteTable.Flag).ToArray();
var builder = WebApplication.CreateSlimBuilder(args);

string configPath = ConfigPathFrom(args) ?? WorkspacesOptions.DefaultConfigPath;
builder.Configuration
    .AddJsonFile(configPath, optional: configPath == WorkspacesOptions.DefaultConfigPath, reloadOnChange: false)
    .AddCommandLine(args, new Dictionary<string, string>
    {
        ["--state-dir"] = nameof(WorkspacesOptions.StateDir),
        ["--socket"] = nameof(WorkspacesOptions.Socket),
        ["--config"] = "ConfigPath",
    });
builder.Services.Configure<WorkspacesOptions>(builder.Configuration);
var options = builder.Configuration.Get<WorkspacesOptions>() ?? new WorkspacesOptions();
// A bad value stops the start with one line naming it, not some request later (reloads: ConfigReload).
if (new WorkspacesOptionsValidator().Validate(null, options) is { Failed: true } invalid)
{
    Console.Error.WriteLine($"workspacesd: {configPath}: {invalid.FailureMessage}");
    return 2;
}
builder.Services.AddSingleton<IValidateOptions<WorkspacesOptions>, WorkspacesOptionsValidator>();
builder.Services.AddSingleton(new ConfigFile(configPath, Optional: configPath == WorkspacesOptions.DefaultConfigPath));
options.StateDir = Path.GetFullPath(options.StateDir);
options.Socket = Path.GetFullPath(options.Socket);
if (inert)
{
    // Never the configured state dir or socket: a daemon may be running on them.
    string scratch = Directory.CreateTempSubdirectory("workspacesd-inert-").FullName;
    AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(scratch, recursive: true);
    (options.StateDir, options.Socket) = (Path.Combine(scratch, "state"), Path.Combine(scratch, "workspaces.sock"));
}
builder.Services.PostConfigure<WorkspacesOptions>(o => (o.StateDir, o.Socket) = (options.StateDir, options.Socket));

builder.Host.UseSystemd();

// systemd over D-Bus when it runs the host: transient scopes for guests, machined registration
// (ResourceControllerFactory decides; without a bus, cgroups written directly, or nothing).
var (bus, busWhy) = inert ? (null, "inert") : await SystemBus.TryConnectAsync(CancellationToken.None);
if (bus is not null) builder.Services.AddSingleton(bus);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

Directory.CreateDirectory(options.StateDir);
if (Environment.IsPrivilegedProcess && !inert) GuestFiles.CheckReachable(options.StateDir); // guests run as their own uids
Directory.CreateDirectory(Path.GetDirectoryName(options.Socket)!);
File.Delete(options.Socket); // a socket left by a daemon that died; a live one holds the state dir's database
builder.Services.AddSingleton<ConnectionLimits>().AddSingleton<MemoryTrim>();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    var limits = kestrel.ApplicationServices.GetRequiredService<ConnectionLimits>();
    kestrel.ListenUnixSocket(options.Socket, listen => listen.Use(next => connection => limits.OnConnectionAsync(connection, next)));
    // Bodies are JSON of a few KiB; image uploads lift this for themselves (ImageEndpoints).
    kestrel.Limits.MaxRequestBodySize = ApiLimits.MaxJsonBody;
    // A stalled upload is cut: below 4 KiB/s for longer than 10 s.
    kestrel.Limits.MinRequestBodyDataRate = new(bytesPerSecond: 4096, gracePeriod: TimeSpan.FromSeconds(10));
    kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
    if (!inert && options.Peers.Listen is { Length: > 0 } peerListen) ListenForPeers(kestrel, IPEndPoint.Parse(peerListen));
});

builder.Services
    .AddWorkspacesDomain(options.StateDir)
    .AddSingleton<IHypervisor, QemuDriver>()
    .AddSingleton(sp => ResourceControllerFactory.Choose(sp.GetRequiredService<IOptions<WorkspacesOptions>>(), bus, busWhy))
    .AddSingleton<WorkspaceViews>()
    .AddSingleton<OperationRegistry>()
    .AddSingleton<ImagePull>()
    .AddSingleton<MoveReceiver>() // the destination of a move pulls its image chain
    .AddSingleton<LiveReceiver>() // wt-livemove: so does a live move's
    .AddSingleton<PlaygroundImagePulls>() // and an apply of an exported playground
    .AddSingleton<PlaygroundService>()
    .AddSingleton<CallerResolver>()
    .AddSingleton<PeerGate>()
    .AddSingleton<SocketAccess>()
    .AddSingleton<ConfigReload>();
if (!inert)
    // The audit log first: it starts before anything records and stops after everything has.
    builder.Services.AddHostedService(sp => sp.GetRequiredService<AuditLog>())
        .AddHostedService<SystemdStatus>().AddHostedService<DaemonService>()
        .AddHostedService(sp => sp.GetRequiredService<PeerMonitor>())
        .AddHostedService<PullResumer>()
        .AddHostedService(sp => sp.GetRequiredService<TrafficWatch>())
        .AddHostedService(sp => sp.GetRequiredService<MigrationResolver>());
if (ApiDocument.GeneratorIncluded && ApiDocument.IsBeingGenerated) ApiDocument.AddForGeneration(builder.Services);

var app = builder.Build();
// Before any guest is re-attached or started: another live daemon handing out the same guest uids stops this one.
if (!inert && !app.Services.GetRequiredService<GuestUidSlot>().TryClaim(out string? uidsTaken))
{
    Console.Error.WriteLine($"workspacesd: {uidsTaken}");
    return 2;
}
app.UseMiddleware<AuditMiddleware>();
app.UseMiddleware<ProblemMiddleware>();
app.UseWebSockets(); // tunnel streams on the peer listener (PeerStreamEndpoints)
var v1 = app.MapGroup("/v1");
v1.MapHostEndpoints();
v1.MapImageEndpoints();
v1.MapImagePullEndpoints();
v1.MapTrustEndpoints();
v1.MapNetworkEndpoints();
v1.MapWorkspaceEndpoints();
v1.MapTrafficEndpoints(); // wt-detect
v1.MapGuestEndpoints();
v1.MapIdentityEndpoints();
v1.MapDiskEndpoints();
v1.MapOperationEndpoints();
v1.MapEventEndpoints();
v1.MapPeerEndpoints();
v1.MapPeerApiEndpoints();
v1.MapPlacementEndpoints();
v1.MapMoveEndpoints();
v1.MapPlaygroundEndpoints();
v1.MapPlaygroundIdentityEndpoints();
v1.MapAuditEndpoints();
v1.MapProxyEndpoints();
v1.MapApiDocument();
app.MapFallback(context => throw Workspaces.Daemon.Errors.WorkspacesException.NotFound(
    $"no endpoint answers {context.Request.Method} {Names.Quote(context.Request.Path)}; the API lives under /v1"));
if (listRoutes)
{
    foreach (var route in RouteTable.Lines(app)) Console.Out.WriteLine(route);
    return 0;
}
app.Run();
return 0;

// The peer listener: TLS 1.3, a client certificate required, and only peers' certificates (PeerGate)
// get past the handshake. HTTP/1.1: pieces of a blob travel on parallel connections.
static void ListenForPeers(KestrelServerOptions kestrel, IPEndPoint endpoint)
{
    var services = kestrel.ApplicationServices;
    var certificate = services.GetRequiredService<PeerCertificate>().Certificate;
    var gate = services.GetRequiredService<PeerGate>();
    kestrel.Listen(endpoint, listen =>
    {
        listen.Protocols = HttpProtocols.Http1;
        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = context => ValueTask.FromResult(new SslServerAuthenticationOptions
            {
                ServerCertificate = certificate,
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificateRequired = true,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, presented, _, _) => gate.AdmitsHandshake(presented, context.Connection.RemoteEndPoint),
            }),
        });
    });
}

static string? ConfigPathFrom(string[] args)
{
    int i = Array.IndexOf(args, "--config");
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
