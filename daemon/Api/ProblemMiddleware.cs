using System.Text.Json;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;

namespace Workspaces.Daemon.Api;

/// <summary>
/// The one error mapper: domain exceptions become RFC 9457 problem+json with their status and
/// message; malformed HTTP is a 400; anything unexpected a 500 that still says what happened.
/// It also authenticates the caller first, so every route below it has one.
/// </summary>
public sealed partial class ProblemMiddleware(RequestDelegate next, CallerResolver callers, MemoryTrim trim,
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
            var caller = callers.Resolve(context)
                ?? throw WorkspacesException.Forbidden("permission denied: only root and members of the workspaces group may use workspacesd here");
            context.SetCaller(caller);
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            var problem = e switch
            {
                WorkspacesException w => new Problem("about:blank", w.Title, w.Status, w.Message, w.Allowed, w.Offer),
                BadHttpRequestException { StatusCode: 413 } => new Problem("about:blank", "Payload too large", 413,
                    $"the request body is larger than the API accepts ({ApiLimits.MaxJsonBody} bytes)"),
                BadHttpRequestException b => new Problem("about:blank", "Bad request", b.StatusCode, $"malformed request: {b.Message}"),
                IOException io when io.InnerException is BadHttpRequestException || io.Message.Contains("Unexpected end of", StringComparison.Ordinal) =>
                    new Problem("about:blank", "Bad request", 400, $"the upload ended early (truncated): {io.Message}"),
                // A full disk is the host's state, not a bug: say where and how much, and how to free it
                // (deletes still work: Database.Freeing).
                Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: SqliteFull } or IOException { HResult: Enospc } => DiskFull(),
                HypervisorException h => new Problem("about:blank", "Hypervisor error", 500, h.Message),
                _ => new Problem("about:blank", "Internal error", 500, $"internal error: {e.Message}"),
            };
            // Messages quote what callers sent; whatever slipped through unbounded stops here.
            if (problem.Detail.Length > MaxDetail) problem = problem with { Detail = problem.Detail[..MaxDetail] + "... (cut)" };
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
    private const int SqliteFull = 13, Enospc = 28;

    private Problem DiskFull()
    {
        string dir = options.Value.StateDir;
        long free = new DriveInfo(dir).AvailableFreeSpace;
        return new Problem("about:blank", "Insufficient storage", 507,
            $"the disk holding {dir} is full ({free} bytes free); free space with `ws image prune`, `ws image rm` or `ws rm`, then try again");
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void LogUnexpected(ILogger logger, Exception e, string method, string path);
}
