using System.Text.Json;
using Workspaces.Client;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Api;

/// <summary>
/// The one error path: exceptions become RFC 9457 problem+json (by type: Problems.cs); anything
/// unexpected is a 500 that still says what happened, and is logged whole.
/// It also authenticates the caller first (a local user by SO_PEERCRED, a peer by its certificate:
/// PeerGate), so every route below it has one.
/// </summary>
public sealed partial class ProblemMiddleware(RequestDelegate next, CallerResolver callers, PeerGate peers, MemoryTrim trim,
    Microsoft.Extensions.Options.IOptions<WorkspacesOptions> options, ILogger<ProblemMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await HandleAsync(context);
        }
        finally
        {
            trim.RequestEnded(context.Request);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        try
        {
            var caller = PeerGate.OnPeerListener(context) ? peers.Admit(context)
                : context.Request.Path.StartsWithSegments(PeerGate.PeerPrefix)
                    ? throw WorkspacesException.NotFound($"{PeerGate.PeerPrefix}/... is served to peers on the peer listener only")
                    : callers.Resolve(context)
                      ?? throw WorkspacesException.Forbidden("permission denied: only root and members of the workspaces group may use workspacesd here");
            context.SetCaller(caller);
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            var problem = Problems.From(e, options.Value.StateDir);
            // Messages quote what callers sent; whatever slipped through unbounded stops here.
            if (problem.Detail.Length > MaxDetail) problem = problem with { Detail = problem.Detail[..MaxDetail] + "... (cut)" };
            context.SetRefusal(problem.Detail);
            if (problem.Status >= 500) LogUnexpected(logger, e, context.Request.Method, context.Request.Path);
            context.Response.Clear();
            context.Response.StatusCode = problem.Status;
            context.Response.ContentType = "application/problem+json";
            // A refused upload may leave body bytes unread; close rather than drain them.
            context.Response.Headers.Connection = "close";
            await JsonSerializer.SerializeAsync(context.Response.Body, problem, Client.WorkspacesJson.Default.Problem);
        }
    }

    private const int MaxDetail = 2048;

    [LoggerMessage(EventId = 1000, Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void LogUnexpected(ILogger logger, Exception e, string method, string path);
}
