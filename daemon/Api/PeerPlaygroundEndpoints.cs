using Workspaces.Client;
using Workspaces.Daemon.Playgrounds;

namespace Workspaces.Daemon.Api;

/// <summary>
/// /v1/peer/playgrounds on the peer listener: the host that applied a playground names the members it
/// made here, and asks for their identity entries signed by this host. Only a pinned peer reaches it
/// (PeerGate), and each peer sees and names only the members of the playgrounds it applied.
/// </summary>
public static class PeerPlaygroundEndpoints
{
    public static void MapPeerPlaygroundEndpoints(this RouteGroupBuilder peer)
    {
        peer.MapPost("/playgrounds/{playground}/members", async (HttpContext context, string playground, PlaygroundHostedMembers hosted) =>
        {
            string caller = PeerGate.PeerName(context);
            var member = await context.Request.ReadJsonAsync(WorkspacesJson.Default.PeerPlaygroundMember);
            hosted.Record(playground, caller, member);
            return Results.NoContent();
        }).WithSummary("peer API: a workspace made here through the proxy is a member (role, index) of a playground the calling peer applied")
          .Body<PeerPlaygroundMember>().Produces(204);

        peer.MapGet("/playgrounds/{playground}/identity", (HttpContext context, string playground, PlaygroundHostedMembers hosted) =>
            Results.Json(hosted.Sign(playground, PeerGate.PeerName(context)), WorkspacesJson.Default.PeerPlaygroundEntryArray))
          .WithSummary("peer API: the identity entries of the members this host runs for the calling peer's playground, each signed by this host")
          .Produces<PeerPlaygroundEntry[]>();
    }
}
