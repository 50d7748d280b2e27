using Workspaces.Daemon;
using Workspaces.Daemon.Api;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Operations;
using Workspaces.Daemon.Resources;
using Workspaces.Daemon.Systemd;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

// Host wiring only: configuration, services, systemd integration and Kestrel on the Unix socket.
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
options.StateDir = Path.GetFullPath(options.StateDir);
options.Socket = Path.GetFullPath(options.Socket);
builder.Services.PostConfigure<WorkspacesOptions>(o => (o.StateDir, o.Socket) = (options.StateDir, options.Socket));

builder.Host.UseSystemd();

// systemd over D-Bus when it runs the host: transient scopes for guests, machined registration
// (ResourceControllerFactory decides; without a bus, cgroups written directly, or nothing).
var (bus, busWhy) = await SystemBus.TryConnectAsync(CancellationToken.None);
if (bus is not null) builder.Services.AddSingleton(bus);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

Directory.CreateDirectory(options.StateDir);
Directory.CreateDirectory(Path.GetDirectoryName(options.Socket)!);
File.Delete(options.Socket); // a socket left by a daemon that died; a live one holds the state dir's database
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.ListenUnixSocket(options.Socket);
    kestrel.Limits.MaxRequestBodySize = null; // image uploads are as large as images
});

builder.Services
    .AddSingleton(new Database(Path.Combine(options.StateDir, "workspaces.db")))
    .AddSingleton<ImageRepository>()
    .AddSingleton<WorkspaceRepository>()
    .AddSingleton<TrustRepository>()
    .AddSingleton(new ImageStore(options.StateDir))
    .AddSingleton(new HostIdentity(options.StateDir))
    .AddSingleton<TrustPolicy>()
    .AddSingleton<QemuImg>()
    .AddSingleton<ImageIntegrity>()
    .AddSingleton<DiskKeys>()
    .AddSingleton<ImageService>()
    .AddSingleton<ImageFactory>()
    .AddSingleton<ImageArchive>()
    .AddSingleton<NetworkRepository>()
    .AddSingleton<Links>()
    .AddSingleton<DhcpServer>()
    .AddSingleton<Firewall>()
    .AddSingleton<NetworkService>()
    .AddSingleton<KvmProbe>()
    .AddSingleton<IHypervisor, QemuDriver>()
    .AddSingleton(sp => ResourceControllerFactory.Choose(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<WorkspacesOptions>>(), bus, busWhy))
    .AddHostedService<SystemdStatus>()
    .AddSingleton<EventBus>()
    .AddSingleton<Admission>()
    .AddSingleton<WorkspaceLifecycle>()
    .AddSingleton<OperationRegistry>()
    .AddSingleton<CallerResolver>()
    .AddHostedService<DaemonService>();

var app = builder.Build();
app.UseMiddleware<ProblemMiddleware>();
var v1 = app.MapGroup("/v1");
v1.MapHostEndpoints();
v1.MapImageEndpoints();
v1.MapTrustEndpoints();
v1.MapNetworkEndpoints();
v1.MapWorkspaceEndpoints();
v1.MapOperationEndpoints();
v1.MapEventEndpoints();
app.MapFallback(() => Results.Problem(statusCode: 404, detail: "no such endpoint; the API lives under /v1"));
app.Run();

static string? ConfigPathFrom(string[] args)
{
    int i = Array.IndexOf(args, "--config");
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
