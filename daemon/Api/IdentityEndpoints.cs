using Workspaces.Client;
using Workspaces.Daemon.Guests;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

/// <summary>What a workspace's guest is and did: its identity document, checking one, and its boot job's result.</summary>
public static class IdentityEndpoints
{
    /// <summary>The longest ws wait --job may hold a request (ApiLimits.MaxWaitSeconds is a day; a boot job is shorter).</summary>
    private const double DefaultJobWaitSeconds = 600;

    public static void MapIdentityEndpoints(this RouteGroupBuilder v1)
    {
        // Whoever may see the workspace may read its identity: the document is public, the key it names is the guest's.
        v1.MapGet("/workspaces/{name}/identity", (HttpContext context, string name, WorkspaceAccess access, WorkspaceGuests guests, ImageService images) =>
        {
            var row = access.Get(name, context.Caller());
            return Results.Text(guests.Identity(row, images.Get(row.ImageId)) + "\n", "application/json");
        }).WithSummary("the workspace's identity document: canonical JSON signed by this host's key (the guest has it at /etc/workspaces/identity.json)")
            .Produces(200, contentType: "application/json");

        // Anyone on the socket may check a document: it needs no secret and tells nothing about this host's workspaces.
        v1.MapPost("/identity/verify", async (HttpContext context, HostIdentity host) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.IdentityVerifyRequest);
            string key = request.HostKey ?? host.SigningPublicKey;
            var check = IdentityDocument.Verify(request.Document ?? "", key);
            var c = check.Claims;
            return Results.Json(new IdentityVerifyResult(check.Valid, [.. check.Problems], key,
                c?.WorkspaceId, c?.Name, c?.Owner, c?.Image, c?.HostName, c?.IssuedAt, c?.WorkspaceKey), WorkspacesJson.Default.IdentityVerifyResult);
        }).WithSummary("check a workspace identity document against a host's Ed25519 key (default: this host's); says what fails")
            .Body<IdentityVerifyRequest>().Produces<IdentityVerifyResult>();

        // The owner (or an admin) waits for the job its user-data runs at boot.
        v1.MapGet("/workspaces/{name}/job", async (HttpContext context, string name, double? timeout, WorkspaceAccess access, JobWait jobs) =>
        {
            var row = access.Get(name, context.Caller());
            var wait = ApiLimits.Seconds(timeout, "timeout") ?? TimeSpan.FromSeconds(DefaultJobWaitSeconds);
            return Results.Json(await jobs.WaitAsync(row, wait, context.RequestAborted), WorkspacesJson.Default.JobResult);
        }).WithSummary("wait until cloud-init reports the boot's job done (through the guest agent): status done, error (with its errors) or running after timeout seconds")
            .Produces<JobResult>();
    }
}
