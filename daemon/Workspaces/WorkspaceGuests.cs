using System.Net;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Guests;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// What a workspace's guest is given: at create, its identity (a key pair and the host-signed
/// document) and its owner's user-data, ssh keys and secrets, kept (sealed where secret); at each
/// start, a NoCloud seed made from them and the address leased for that run; once the guest has
/// confirmed its first boot, a seed without the one-time files (private key, secrets).
/// </summary>
public sealed class WorkspaceGuests(
    GuestRepository guests,
    HostIdentity host,
    SeedDisk seeds,
    WorkspaceLayout layout,
    IOptionsMonitor<WorkspacesOptions> options)
{
    /// <summary>Where the seed lives: beside the overlay, rebuilt at every start.</summary>
    public string SeedPath(string workspaceId) => Path.Combine(layout.Dir(workspaceId), "seed.iso");

    /// <summary>The guest-side parts of a create request, checked before anything is made (400s).</summary>
    public static GuestRequest Check(CreateWorkspaceRequest request)
    {
        if (request.UserData is { } userData) UserData.ContentType(userData);
        return new GuestRequest(request.UserData, SshKeys.Parse(request.SshKeys), SecretName.Decode(request.Secrets));
    }

    /// <summary>A new workspace's identity and what its owner gave, in SQLite (removed with the workspace's row).</summary>
    public void Record(WorkspaceRow row, ImageRow image, GuestRequest request)
    {
        var keys = WorkspaceKeyPair.Create(host);
        var secrets = request.Secrets.Select(s => new SecretRow
        {
            WorkspaceId = row.Id, Name = s.Key, Sealed = Convert.ToHexString(KeySeal.Seal(s.Value, host.SealingKey.PublicKey)),
        }).ToList();
        guests.Insert(NewRow(row, image, keys, request.UserData, string.Join('\n', request.SshKeys)), secrets);
    }

    /// <summary>A copy: the same user-data, keys and secrets, but its own identity (a new key pair, id and name).</summary>
    public void RecordCopy(WorkspaceRow source, WorkspaceRow copy, ImageRow image)
    {
        var from = guests.Find(source.Id);
        var keys = WorkspaceKeyPair.Create(host);
        var secrets = guests.Secrets(source.Id).Select(s => new SecretRow { WorkspaceId = copy.Id, Name = s.Name, Sealed = s.Sealed }).ToList();
        guests.Insert(NewRow(copy, image, keys, from?.UserData, from?.SshKeys ?? ""), secrets);
    }

    /// <summary>The identity document (a workspace made before identities existed gets one now).</summary>
    public string Identity(WorkspaceRow row, ImageRow image) => Ensure(row, image).Identity;

    private GuestRow Ensure(WorkspaceRow row, ImageRow image)
    {
        if (guests.Find(row.Id) is { } found) return found;
        guests.Insert(NewRow(row, image, WorkspaceKeyPair.Create(host), null, ""), []);
        return guests.Find(row.Id)!;
    }

    private GuestRow NewRow(WorkspaceRow row, ImageRow image, WorkspaceKeyPair keys, string? userData, string sshKeys)
    {
        var claims = new IdentityClaims(row.Id, row.Name, row.Owner, image.Id, HostName, host.SigningPublicKey,
            DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), keys.PublicKey);
        return new GuestRow
        {
            WorkspaceId = row.Id, UserData = userData, SshKeys = sshKeys, PublicKey = keys.PublicKey,
            SealedKey = Convert.ToHexString(keys.SealedPrivateKey), Identity = IdentityDocument.Sign(claims, host),
        };
    }

    /// <summary>This host's name as peers know it (PeerDirectory.Name's rule).</summary>
    private string HostName => options.CurrentValue.Peers.Name ?? Dns.GetHostName().ToLowerInvariant();

    /// <summary>
    /// Writes the seed for this run (temp + rename) and returns its path. The one-time files are on
    /// it until the guest has confirmed its first boot.
    /// </summary>
    public async Task<string> WriteSeedAsync(WorkspaceRow row, ImageRow image, SeedAddress? address, CancellationToken ct)
    {
        var guest = Ensure(row, image);
        string path = SeedPath(row.Id);
        await seeds.WriteAsync(SeedContents.For(Input(row, guest, address), withOneTimeFiles: guest.DeliveredAt is null), path, ct);
        return path;
    }

    /// <summary>
    /// The guest has its one-time files: the seed is rewritten without them (same instance-id, so
    /// cloud-init does not run its per-instance steps again) and that is recorded. Returns the path.
    /// </summary>
    public async Task<string> WriteDeliveredSeedAsync(WorkspaceRow row, ImageRow image, SeedAddress? address, CancellationToken ct)
    {
        var guest = Ensure(row, image);
        string path = SeedPath(row.Id);
        await seeds.WriteAsync(SeedContents.For(Input(row, guest, address), withOneTimeFiles: false), path, ct);
        guests.MarkDelivered(row.Id, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return path;
    }

    public bool Delivered(string workspaceId) => guests.Find(workspaceId)?.DeliveredAt is not null;

    private SeedInput Input(WorkspaceRow row, GuestRow guest, SeedAddress? address)
    {
        var files = new List<GuestFile>
        {
            new("workspaces/identity.json", $"{SeedContents.GuestDir}/identity.json", "0644", System.Text.Encoding.UTF8.GetBytes(guest.Identity), OneTime: false),
        };
        // Opened only to be written to the seed; the bytes live no longer than this start.
        if (guest.DeliveredAt is null)
        {
            if (WorkspaceKeyPair.OpenPrivateKey(Convert.FromHexString(guest.SealedKey), host) is { } pem)
                files.Add(new("workspaces/identity.key", $"{SeedContents.GuestDir}/identity.key", "0600", pem, OneTime: true));
            foreach (var secret in guests.Secrets(row.Id))
                if (KeySeal.Open(Convert.FromHexString(secret.Sealed), host.SealingKey) is { } value)
                    files.Add(new($"workspaces/secrets/{secret.Name}", $"{SeedContents.GuestDir}/secrets/{secret.Name}", "0600", value, OneTime: true));
        }
        var keys = guest.SshKeys.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return new SeedInput(row.Id, row.Name, address, guest.UserData, keys, files);
    }
}
