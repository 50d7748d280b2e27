using Workspaces.Daemon.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Operations;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

public static class ImageEndpoints
{
    public static void MapImageEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/images", (ImageService images) =>
            Results.Json(images.List().Select(i => i.ToInfo()).ToArray(), WorkspacesJson.Default.ImageInfoArray))
            .WithSummary("the image cache").Produces<ImageInfo[]>();

        v1.MapGet("/images/{image}", (string image, ImageService images) =>
            Results.Json(images.Get(image).ToInfo(), WorkspacesJson.Default.ImageInfo))
            .WithSummary("one image, by name or fingerprint").Produces<ImageInfo>();

        v1.MapPost("/images", ImportAsync)
            .WithSummary("import an image (admins), hashed while it streams")
            .WithDescription("multipart/form-data: fields name, cmdline, encrypt, tags and files disk, kernel, initrd; "
                + "or application/x-tar: an archive from export; or application/json naming files on this host by descriptors passed on the socket.")
            .Body<LocalImportRequest>()
            .Produces<ImageInfo>(201);

        v1.MapGet("/images/{image}/manifest", (string image, ImageService images) =>
            Results.Json(images.Manifest(images.Get(image)), WorkspacesJson.Default.ImageManifestInfo))
            .WithSummary("the image's canonical manifest, its signatures and its chain").Produces<ImageManifestInfo>();

        v1.MapPost("/images/{image}/signatures", async (HttpContext context, string image, ImageService images) =>
        {
            context.RequireAdmin("sign images");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.SignImageRequest);
            return Results.Json(images.Sign(images.Get(image), request), WorkspacesJson.Default.SignatureInfo, statusCode: 201);
        }).WithSummary("sign the manifest with the host's key, a given key, or attach a detached signature (admins)")
            .Body<SignImageRequest>().Produces<SignatureInfo>(201);

        v1.MapPost("/images/{image}/verify", async (HttpContext context, string image, ImageService images) =>
        {
            context.RequireAdmin("verify images (it re-hashes them)");
            return Results.Json(await images.VerifyAsync(images.Get(image), context.RequestAborted), WorkspacesJson.Default.VerifyReport);
        }).WithSummary("re-hash an image and check its signatures against the policy (admins)").Produces<VerifyReport>();

        v1.MapPost("/images/verify", async (HttpContext context, ImageService images) =>
        {
            context.RequireAdmin("verify images (it re-hashes them)");
            return Results.Json(await images.VerifyAllAsync(context.RequestAborted), WorkspacesJson.Default.VerifyReportArray);
        }).WithSummary("verify every image (admins)").Produces<VerifyReport[]>();

        // Flatten reads and writes a whole disk: an operation (202), like every long action.
        v1.MapPost("/images/{image}/flatten", async (HttpContext context, string image, ImageService images, ImageFactory factory,
            OperationRegistry operations, EventBus events) =>
        {
            var caller = context.RequireAdmin("make images");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.FlattenRequest);
            var source = images.Get(image);
            Names.CheckImage(request.As);
            var op = operations.Start("flatten", source.Name, caller, async (_, ct) =>
            {
                var made = await factory.FlattenAsync(source, request.As, request.Tags ?? [], ct);
                events.Publish(new EventInfo(DateTimeOffset.UtcNow, "image.created", null, null, made.Name, null));
            });
            return Results.Json(op.ToInfo(), WorkspacesJson.Default.OperationInfo, statusCode: 202);
        }).WithSummary("a standalone copy of the image's chain (admins; an operation)")
            .Body<FlattenRequest>().Produces<OperationInfo>(202);

        v1.MapGet("/images/{image}/export", async (HttpContext context, string image, ImageService images, ImageArchive archive) =>
        {
            context.RequireAdmin("export images");
            var row = images.Get(image);
            context.Response.ContentType = "application/x-tar";
            context.Response.Headers.ContentDisposition = $"attachment; filename=\"{row.Name}.tar\"";
            await archive.ExportAsync(row, context.Response.Body, context.RequestAborted);
        }).WithSummary("the image's chain, manifests, signatures and sealed keys as a tar archive (admins)")
            .Produces(200, contentType: "application/x-tar");

        v1.MapPost("/images/{image}/reseal", async (HttpContext context, string image, ImageService images) =>
        {
            context.RequireAdmin("reseal images");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.ResealRequest);
            var row = images.Get(image);
            if (!row.Encrypted && images.SealedKeys(row).Count == 0)
                throw WorkspacesException.Conflict($"image '{row.Name}' is not sealed, so there is no key to reseal");
            string recipient = images.Reseal(row, request.To);
            return Results.Json(new ResealResult(row.Name, recipient, Trust.KeyText.Fingerprint(recipient)), WorkspacesJson.Default.ResealResult);
        }).WithSummary("seal a sealed image's key to another host's X25519 key as well (admins)")
            .Body<ResealRequest>().Produces<ResealResult>();

        v1.MapPost("/images/prune", (HttpContext context, ImageService images, EventBus events) =>
        {
            context.RequireAdmin("prune images");
            var (removed, freed) = images.Prune();
            foreach (var image in removed)
                events.Publish(new EventInfo(DateTimeOffset.UtcNow, "image.deleted", null, null, image.Name, null));
            return Results.Json(new PruneResult(removed.Select(i => i.Name).ToArray(), freed), WorkspacesJson.Default.PruneResult);
        }).WithSummary("remove images no workspace or other image needs (admins)").Produces<PruneResult>();

        v1.MapDelete("/images/{image}", (HttpContext context, string image, ImageService images, EventBus events) =>
        {
            context.RequireAdmin("delete images");
            images.Delete(image);
            events.Publish(new EventInfo(DateTimeOffset.UtcNow, "image.deleted", null, null, image, null));
            return Results.NoContent();
        }).WithSummary("delete an image; 409 while a workspace uses it (admins)").Produces(204);
    }

    /// <summary>Files on this host, named by descriptors the caller holds open (see LocalImportRequest).</summary>
    private static async Task<IResult> ImportLocalAsync(HttpContext context, ImageService images, EventBus events)
    {
        var caller = context.Caller();
        var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.LocalImportRequest);
        var ct = context.RequestAborted;
        await using var import = images.BeginImport();
        foreach (var (part, fd) in new[] { ("disk", request.DiskFd), ("kernel", request.KernelFd), ("initrd", request.InitrdFd) })
        {
            if (fd is null) continue;
            using var file = CallerFiles.Open(caller, fd.Value, part);
            await import.AddLocalPartAsync(part, file, ct);
        }
        var image = await import.CommitAsync(request.Name, request.Cmdline, request.Encrypt, request.Tags ?? [], ct);
        events.Publish(new EventInfo(DateTimeOffset.UtcNow, "image.imported", null, null, image.Name, null));
        return Results.Json(image.ToInfo(), WorkspacesJson.Default.ImageInfo, statusCode: 201);
    }

    /// <summary>
    /// multipart/form-data: fields "name", "cmdline", "encrypt" (true|false) and "tags" (space-separated),
    /// file parts "disk", "kernel", "initrd"; or application/x-tar: an archive from export.
    /// Each part streams into the store while being hashed; nothing is kept unless all of it validates.
    /// </summary>
    private static async Task<IResult> ImportAsync(HttpContext context, ImageService images, ImageArchive archive, EventBus events)
    {
        context.RequireAdmin("import images");
        var request = context.Request;
        if (request.ContentType is { } type && type.StartsWith("application/x-tar", StringComparison.OrdinalIgnoreCase))
        {
            LiftBodyLimit(context);
            var tar = new UploadBody(request.Body);
            var imported = await tar.ParseAsync(() => archive.ImportAsync(tar, context.RequestAborted));
            events.Publish(new EventInfo(DateTimeOffset.UtcNow, "image.imported", null, null, imported.Name, null));
            return Results.Json(imported.ToInfo(), WorkspacesJson.Default.ImageInfo, statusCode: 201);
        }
        if (request.ContentType is { } json && json.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            return await ImportLocalAsync(context, images, events);
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value is not { Length: > 0 } boundary)
            throw WorkspacesException.BadRequest("an image import is a multipart/form-data upload with a 'name' field and 'disk', 'kernel' or 'initrd' files, an application/x-tar archive, or application/json naming local files by descriptor");

        LiftBodyLimit(context);
        var ct = context.RequestAborted;
        await using var import = images.BeginImport();
        string? name = null, cmdline = null;
        bool encrypt = false;
        string[] tags = [];
        var body = new UploadBody(request.Body);
        var reader = new MultipartReader(boundary, body);
        while (await body.ParseAsync(() => reader.ReadNextSectionAsync(ct)) is { } section)
        {
            var disposition = section.GetContentDispositionHeader()
                ?? throw WorkspacesException.BadRequest("a part of the upload has no Content-Disposition");
            string part = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
            if (disposition.IsFileDisposition())
            {
                await body.ParseAsync(async () => { await import.AddPartAsync(part, section.Body, null, ct); return true; });
                continue;
            }
            string value = await body.ParseAsync(() => ReadFieldAsync(section.Body, part, ct));
            switch (part)
            {
                case "name": name = value; break;
                case "cmdline": cmdline = value; break;
                case "encrypt":
                    encrypt = bool.TryParse(value, out var e) ? e : throw WorkspacesException.BadRequest($"encrypt must be true or false, not {Names.Quote(value)}");
                    break;
                case "tags": tags = value.Split(' ', StringSplitOptions.RemoveEmptyEntries); break;
                default: throw WorkspacesException.BadRequest($"unknown field {Names.Quote(part)} in the image upload; fields are name, cmdline, encrypt and tags");
            }
        }
        var image = await import.CommitAsync(name, cmdline, encrypt, tags, ct);
        events.Publish(new EventInfo(DateTimeOffset.UtcNow, "image.imported", null, null, image.Name, null));
        return Results.Json(image.ToInfo(), WorkspacesJson.Default.ImageInfo, statusCode: 201);
    }

    /// <summary>Image bytes are as large as images: an admin's upload is exempt from the JSON body limit.</summary>
    private static void LiftBodyLimit(HttpContext context)
    {
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = null;
    }

    /// <summary>A text field of the upload, refused past ApiLimits.MaxFormField rather than read into memory whole.</summary>
    private static async Task<string> ReadFieldAsync(Stream body, string part, CancellationToken ct)
    {
        var buffer = new char[ApiLimits.MaxFormField + 1];
        using var reader = new StreamReader(body);
        int length = 0, n;
        while (length < buffer.Length && (n = await reader.ReadAsync(buffer.AsMemory(length), ct)) > 0) length += n;
        if (length > ApiLimits.MaxFormField)
            throw new WorkspacesException(413, "Payload too large", $"the upload's field {Names.Quote(part)} is longer than {ApiLimits.MaxFormField} characters");
        return new string(buffer, 0, length);
    }
}
