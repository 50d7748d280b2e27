using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Images;

/// <summary>The image Repository in the paper's sense: list, inspect, import and remove cached images.</summary>
public sealed class ImageService(ImageStore store, ImageRepository images, QemuImg qemuImg)
{
    public IReadOnlyList<ImageRow> List() => images.List();

    public ImageRow Get(string reference) =>
        images.Find(reference) ?? throw WorkspacesException.NotFound($"no image named or with fingerprint '{reference}'");

    public ImageImport BeginImport() => new(store, images, qemuImg);

    public void Delete(string reference)
    {
        var image = Get(reference);
        var users = images.DeleteUnlessUsed(image.Id);
        if (users.Count > 0)
            throw WorkspacesException.Conflict($"image '{image.Name}' is used by workspace(s) {string.Join(", ", users)}; delete them first");
        foreach (var blob in image.Blobs)
            if (!images.BlobInUse(blob)) store.DeleteBlob(blob);
    }

    public string BlobPath(string sha256) => store.BlobPath(sha256);
}
