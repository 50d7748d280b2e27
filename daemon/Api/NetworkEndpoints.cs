using Workspaces.Client;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Api;

public static class NetworkEndpoints
{
    public static void MapNetworkEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/networks", (NetworkService networks) =>
            Results.Json(networks.List().Select(n => ToInfo(n)).ToArray(), WorkspacesJson.Default.NetworkInfoArray))
            .WithSummary("the networks").Produces<NetworkInfo[]>();

        // A user sees the network and their own workspaces on it; the others' NICs, the leases and
        // the rules (which name every workspace's addresses) are for admins.
        v1.MapGet("/networks/{name}", (HttpContext context, string name, NetworkService networks) =>
        {
            var caller = context.Caller();
            var network = networks.Get(name);
            var nics = networks.NicsOn(name).Where(n => caller.CanSee(n.Owner)).ToList();
            return Results.Json(ToInfo(network) with
            {
                Nics = nics.Select(n => new NetworkNic(n.WorkspaceName, n.Mac, n.Address, n.Tap)).ToArray(),
                Leases = caller.IsAdmin ? networks.Leases(name).ToArray() : [],
                Rules = (caller.IsAdmin ? networks.RulesOf($"network {name}") : [])
                    .Concat(nics.SelectMany(n => networks.RulesOf($"workspace {n.WorkspaceId}"))).ToArray(),
            }, WorkspacesJson.Default.NetworkInfo);
        }).WithSummary("one network, the NICs the caller may see on it; leases and rules for admins").Produces<NetworkInfo>();

        v1.MapPost("/networks", async (HttpContext context, NetworkService networks) =>
        {
            context.RequireAdmin("create networks");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.CreateNetworkRequest);
            return Results.Json(ToInfo(await networks.CreateAsync(request, context.RequestAborted)), WorkspacesJson.Default.NetworkInfo, statusCode: 201);
        }).WithSummary("make a network: a bridge, its dnsmasq and rules (admins)").Body<CreateNetworkRequest>().Produces<NetworkInfo>(201);

        v1.MapPut("/networks/{name}/span", async (HttpContext context, string name, NetworkService networks) =>
        {
            context.RequireAdmin("change whom a network spans");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.SpanNetworkRequest);
            return Results.Json(ToInfo(await networks.SetSpanAsync(name, request.Span, request.Slice, context.RequestAborted)), WorkspacesJson.Default.NetworkInfo);
        }).WithSummary("a spanning network reaches exactly these peers: grown to a host that joins it later (admins)").Body<SpanNetworkRequest>().Produces<NetworkInfo>();

        v1.MapDelete("/networks/{name}", async (HttpContext context, string name, NetworkService networks) =>
        {
            context.RequireAdmin("delete networks");
            await networks.DeleteAsync(name, context.RequestAborted);
            return Results.NoContent();
        }).WithSummary("remove a network no workspace uses (admins)").Produces(204);
    }

    private static NetworkInfo ToInfo(NetworkRow n) => new(
        n.Name, n.Bridge, n.Subnet, n.Gateway, n.Nat, n.Isolated, n.IsolateOwners, n.Egress, DateTimeOffset.FromUnixTimeMilliseconds(n.CreatedAt),
        Vni: n.Vni, Span: n.Spanning ? [.. n.SpanPeers] : null, Mtu: n.Spanning ? n.SpanMtu : null);
}
