using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// The state dir on a small filesystem of its own (a tmpfs the test mounts), filled to the last byte:
/// writes are refused with 507 and say how to free space, and deletes still work, so they can.
/// </summary>
public sealed class DiskFullTests
{
    [Fact]
    public async Task A_full_disk_refuses_writes_with_507_and_deletes_still_free_space()
    {
        Prerequisites.RequireRoot();
        var daemon = new DaemonProcess();
        Directory.CreateDirectory(daemon.StateDir);
        await Processes.MustAsync("mount", ["-t", "tmpfs", "-o", "size=96m", "wstest-full", daemon.StateDir]);
        try
        {
            await daemon.StartAsync();
            var client = daemon.Client;
            await GuestImages.ImportAsync(client);
            string raw = Path.Combine(daemon.Dir, "second.raw"); // outside the small filesystem
            var bytes = new byte[8 << 20];
            Random.Shared.NextBytes(bytes);
            await File.WriteAllBytesAsync(raw, bytes);
            await client.ImportLocalImageAsync(new ImageUpload("second", raw, null, null, null, false));

            // Fill what is left, to the byte.
            using (var filler = new FileStream(Path.Combine(daemon.StateDir, "filler"), FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                var block = new byte[1 << 20];
                try { while (true) filler.Write(block); }
                catch (IOException) { }
                int size = 4096;
                while (size >= 1)
                {
                    try { filler.Write(block, 0, size); }
                    catch (IOException) { size /= 2; }
                }
            }

            var create = await Assert.ThrowsAsync<ApiException>(() => client.CreateWorkspaceAsync(new CreateWorkspaceRequest("w", "guest")));
            Assert.Equal(507, create.Status);
            Assert.Contains("full", create.Message);
            var trust = await Assert.ThrowsAsync<ApiException>(() => client.AddTrustAsync("someone", "ed25519:" + Convert.ToBase64String(new byte[32])));
            Assert.Equal(507, trust.Status);
            Assert.Contains($"the disk holding {daemon.StateDir} is full", trust.Message);
            Assert.Empty(await client.ListWorkspacesAsync());

            // Deleting is how space comes back, and it works on the full disk.
            await client.DeleteImageAsync("second");
            Assert.Equal(["guest"], (await client.ListImagesAsync()).Select(i => i.Name).ToArray());
            Assert.True(new DriveInfo(daemon.StateDir).AvailableFreeSpace > 1 << 20);
            File.Delete(Path.Combine(daemon.StateDir, "filler"));
            var w = await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("w", "guest"));
            Assert.Equal("Defined", w.State);
        }
        finally
        {
            await daemon.KillAsync();
            await Processes.RunAsync("umount", [daemon.StateDir]);
            await daemon.DisposeAsync();
        }
    }
}
