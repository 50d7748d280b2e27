using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>What the hypervisor is told about a workspace: its shape, its files and its image's boot parts.</summary>
public sealed class GuestSpecs(Images.ImageService images, WorkspaceLayout layout)
{
    public GuestSpec For(WorkspaceRow row, ImageRow image, string accelerator) =>
        new(
            row.Name, HostName: row.Id, row.Vcpus, row.MemoryMib, accelerator, layout.Guest(row.Id),
            image.Disk is null ? null : layout.Overlay(row.Id),
            image.Kernel is null ? null : images.BlobPath(image.Kernel),
            image.Initrd is null ? null : images.BlobPath(image.Initrd),
            row.Cmdline ?? image.Cmdline,
            RunAs: row.GuestUid, CpuModel: row.CpuModel);

    /// <summary>Where a workspace's QEMU keeps its pid file and sockets, without reading its image.</summary>
    public GuestPaths Paths(string id) => layout.Guest(id);
}
