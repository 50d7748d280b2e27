using System.Buffers.Text;
using System.Text;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Api;

/// <summary>
/// GET /v1/workspaces's query: filters (state, image, prefix; owner is the caller's ?owner=) and pages
/// (limit, cursor). Without a limit the answer is every match, as before pages existed; with one, a
/// full page carries the cursor of the next in the Next-Cursor header, and the last page none.
/// The cursor is opaque to clients: base64url of "v1 OWNER NAME", the last row of the page.
/// </summary>
public static class WorkspaceListing
{
    public const int MaxLimit = 1000;
    public const string NextCursorHeader = "Next-Cursor";

    private static readonly string[] States =
        [WorkspaceStates.Defined, WorkspaceStates.Running, WorkspaceStates.Paused, WorkspaceStates.Stopped, WorkspaceStates.Saved, WorkspaceStates.Failed, WorkspaceStates.MigrationUnknown];

    public static WorkspaceQuery Parse(string? state, string? image, string? prefix, int? limit, string? cursor)
    {
        if (limit is < 1 or > MaxLimit)
            throw WorkspacesException.BadRequest($"limit must be 1 to {MaxLimit} workspaces a page, not {limit}");
        string? canonicalState = null;
        if (state is not null)
            canonicalState = States.FirstOrDefault(s => string.Equals(s, state, StringComparison.OrdinalIgnoreCase))
                ?? throw WorkspacesException.BadRequest($"state {Names.Quote(state)} is not one of {string.Join(", ", States.Select(s => s.ToLowerInvariant()))}");
        if (prefix is { Length: > 63 })
            throw WorkspacesException.BadRequest("a name prefix is at most 63 characters, as names are");
        return new WorkspaceQuery
        {
            State = canonicalState,
            Image = string.IsNullOrEmpty(image) ? null : image,
            NamePrefix = string.IsNullOrEmpty(prefix) ? null : prefix,
            After = cursor is null ? null : Decode(cursor),
            Limit = limit,
        };
    }

    public static string Encode(WorkspaceRow last) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"v1 {last.Owner} {last.Name}"));

    private static (string Name, uint Owner) Decode(string cursor)
    {
        try
        {
            var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor)).Split(' ');
            if (parts is ["v1", var owner, var name] && uint.TryParse(owner, System.Globalization.NumberStyles.None, null, out uint uid) && name.Length > 0)
                return (name, uid);
        }
        catch (FormatException) { }
        throw WorkspacesException.BadRequest($"cursor {Names.Quote(cursor)} is not one this daemon gave out: start again without a cursor");
    }
}
