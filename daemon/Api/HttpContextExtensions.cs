using Workspaces.Daemon.Core;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

public static class HttpContextExtensions
{
    private const string CallerKey = "workspaces.caller";

    public static void SetCaller(this HttpContext context, Caller caller) => context.Items[CallerKey] = caller;

    public static Caller Caller(this HttpContext context) => (Caller)context.Items[CallerKey]!;

    /// <summary>The caller, when one was resolved (a refused connection has none).</summary>
    public static Caller? TryGetCaller(this HttpContext context) => context.Items.TryGetValue(CallerKey, out var c) ? c as Caller : null;

    private const string RefusalKey = "workspaces.refusal";

    /// <summary>Why a request was refused or failed (the problem's detail), for its audit record.</summary>
    public static void SetRefusal(this HttpContext context, string detail) => context.Items[RefusalKey] = detail;

    public static string? Refusal(this HttpContext context) => context.Items.TryGetValue(RefusalKey, out var r) ? r as string : null;

    /// <summary>Admin-only routes: users may look, not change the host's shared resources.</summary>
    public static Caller RequireAdmin(this HttpContext context, string what)
    {
        var caller = context.Caller();
        if (!caller.IsAdmin) throw WorkspacesException.Forbidden($"only root and the workspaces group may {what}");
        return caller;
    }

    /// <summary>Reads a JSON body with the contract's source-generated types; any defect is a 400 that says what.</summary>
    public static async Task<T> ReadJsonAsync<T>(this HttpRequest request, JsonTypeInfo<T> type)
    {
        if (request.ContentType is { } ct && !ct.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            throw new WorkspacesException(415, "Unsupported media type", $"send the request body as application/json, not {ct}");
        try
        {
            return await JsonSerializer.DeserializeAsync(request.Body, type, request.HttpContext.RequestAborted)
                   ?? throw WorkspacesException.BadRequest("the request body is empty (JSON null)");
        }
        catch (JsonException e)
        {
            throw WorkspacesException.BadRequest($"invalid JSON request body: {e.Message}");
        }
    }
}
