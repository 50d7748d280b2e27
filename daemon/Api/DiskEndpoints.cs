using Workspaces.Client;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

/// <summary>
/// A workspace's data disks: list, add (hot-plugged when it runs), remove (hot-unplugged). Whoever may
/// act on the workspace (its owner, an admin) may manage its disks; anyone else finds no workspace.
/// </summary>
public static class DiskEndpoints
{
    public static void MapDiskEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/workspaces/{name}/disks", async (HttpContext context, string name, WorkspaceDataDisks disks) =>
        {
            var listed = await disks.ListAsync(name, context.Caller(), context.RequestAborted);
            return Results.Json(listed.Select(ToInfo).ToArray(), WorkspacesJson.Default.DataDiskInfoArray);
        }).WithSummary("the workspace's data disks, in slot order, each saying whether it is plugged into the running guest")
            .Produces<DataDiskInfo[]>();

        v1.MapPost("/workspaces/{name}/disks", async (HttpContext context, string name, WorkspaceDataDisks disks) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.AddDiskRequest);
            var added = await disks.AddAsync(name, request.Name ?? "", request.Size, request.Image, context.Caller(), context.RequestAborted);
            return Results.Json(ToInfo(added), WorkspacesJson.Default.DataDiskInfo, statusCode: 201);
        }).WithSummary("add a data disk: blank (size, e.g. \"10G\") or an overlay of an image's disk (image); hot-plugged into a running "
                + "workspace, attached at the next start of a stopped one; the guest sees the disk's name as its serial")
            .Body<AddDiskRequest>().Produces<DataDiskInfo>(201);

        v1.MapDelete("/workspaces/{name}/disks/{disk}", async (HttpContext context, string name, string disk, WorkspaceDataDisks disks) =>
        {
            await disks.RemoveAsync(name, disk, context.Caller(), context.RequestAborted);
            return Results.NoContent();
        }).WithSummary("remove a data disk and its file; from a running guest it is unplugged first, and a guest that does not "
                + "release it in time keeps it (409, nothing removed)")
            .Produces(204);
    }

    private static DataDiskInfo ToInfo(WorkspaceDataDisks.Listed l) => new(
        l.Disk.Name, l.Disk.Kind, l.Disk.Size, l.ImageName, l.Disk.Serial, l.Disk.Position, l.Disk.Sealed, l.Attached,
        l.Attached ? $"/dev/disk/by-id/virtio-{l.Disk.Serial}" : null, DateTimeOffset.FromUnixTimeMilliseconds(l.Disk.CreatedAt));
}
