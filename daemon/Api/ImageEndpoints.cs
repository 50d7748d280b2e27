using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

public static class ImageEndpoints
{
    public static void MapImageEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/images", (ImageService images) =>
            Results.Json(images.List().Select(i => i.ToInfo()).ToArray(), WorkspacesJson.Default.ImageInfoArray));

        v1.MapGet("/images/{image}", (string image, ImageService images) =>
            Results.Json(images.Get(image).ToInfo(), WorkspacesJson.Default.ImageInfo));

        v1.MapPost("/images", ImportAsync);

        v1.MapDelete("/images/{image}", (HttpContext context, string image, ImageService images, EventBus events) =>
        {
            context.RequireAdmin("delete images");
            images.Delete(image);
            events.Publish(new EventInfo(DateTimeOffset.UtcNow, "image.deleted", null, null, image, null));
            return Results.NoContent();
        });
    }

    /// <summary>
    /// multipart/form-data: fields "name" and "cmdline", file parts "disk", "kernel", "initrd".
    /// Each part streams into the store while being hashed; nothing is kept unless all of it validates.
    /// </summary>
    private static async Task<IResult> ImportAsync(HttpContext context, ImageService images, EventBus events)
    {
        context.RequireAdmin("import images");
        var request = context.Request;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value is not { Length: > 0 } boundary)
            throw WorkspacesException.BadRequest("an image import is a multipart/form-data upload with a 'name' field and 'disk', 'kernel' or 'initrd' files");

        var ct = context.RequestAborted;
        await using var import = images.BeginImport();
        string? name = null, cmdline = null;
        var reader = new MultipartReader(boundary, request.Body);
        while (await reader.ReadNextSectionAsync(ct) is { } section)
        {
            var disposition = section.GetContentDispositionHeader()
                ?? throw WorkspacesException.BadRequest("a part of the upload has no Content-Disposition");
            string part = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
            if (disposition.IsFileDisposition())
            {
                await import.AddPartAsync(part, section.Body, null, ct);
                continue;
            }
            string value = await new StreamReader(section.Body).ReadToEndAsync(ct);
            switch (part)
            {
                case "name": name = value; break;
                case "cmdline": cmdline = value; break;
                default: throw WorkspacesException.BadRequest($"unknown field '{part}' in the image upload; fields are name and cmdline");
            }
        }
        var image = await import.CommitAsync(name, cmdline, ct);
        events.Publish(new EventInfo(DateTimeOffset.UtcNow, "image.imported", null, null, image.Name, null));
        return Results.Json(image.ToInfo(), WorkspacesJson.Default.ImageInfo, statusCode: 201);
    }
}
