namespace Workspaces.Daemon.Errors;

/// <summary>
/// A request the daemon refuses, with the HTTP status it maps to and a message a person can act on.
/// The API's one error mapper turns these into problem+json; anything else is a 500.
/// </summary>
public class WorkspacesException(int status, string title, string message, string[]? allowed = null, Exception? inner = null)
    : Exception(message, inner)
{
    public int Status { get; } = status;
    public string Title { get; } = title;

    /// <summary>For an illegal transition: the actions allowed from the current state.</summary>
    public string[]? Allowed { get; } = allowed;

    /// <summary>For a refused admission: the shape the host can grant instead.</summary>
    public Client.WorkspaceShape? Offer { get; init; }

    public static WorkspacesException BadRequest(string message) => new(400, "Bad request", message);
    public static WorkspacesException Forbidden(string message) => new(403, "Forbidden", message);
    public static WorkspacesException NotFound(string message) => new(404, "Not found", message);
    public static WorkspacesException Conflict(string message, string[]? allowed = null) => new(409, "Conflict", message, allowed);
    public static WorkspacesException Unprocessable(string message) => new(422, "Unprocessable image", message);
}
