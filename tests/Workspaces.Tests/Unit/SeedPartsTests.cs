using System.Text;
using System.Text.Json;
using NSec.Cryptography;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Guests;
using Workspaces.Daemon.Trust;

namespace Workspaces.Tests.Unit;

/// <summary>The seed's parts without a guest: user-data composition, the seed's files, the identity document's canonical form.</summary>
public sealed class SeedPartsTests
{
    private static readonly GuestFile Identity = new("workspaces/identity.json", "/etc/workspaces/identity.json", "0644", "{}"u8.ToArray(), OneTime: false);
    private static readonly GuestFile Secret = new("workspaces/secrets/token", "/etc/workspaces/secrets/token", "0600", "hunter2"u8.ToArray(), OneTime: true);

    [Fact]
    public void Without_user_data_the_daemons_cloud_config_is_the_whole_user_data_and_is_json_after_its_header()
    {
        string ours = DaemonCloudConfig.Build(["ssh-ed25519 AAAA k"], [Identity]);
        Assert.Equal(ours, UserData.Compose(null, ours));
        Assert.StartsWith("#cloud-config\n", ours);
        using var doc = JsonDocument.Parse(ours["#cloud-config\n".Length..]);
        Assert.Equal("ssh-ed25519 AAAA k", doc.RootElement.GetProperty("ssh_authorized_keys")[0].GetString());
        var file = doc.RootElement.GetProperty("write_files")[0];
        Assert.Equal(("/etc/workspaces/identity.json", "b64", "e30="), (file.GetProperty("path").GetString(), file.GetProperty("encoding").GetString(), file.GetProperty("content").GetString()));
        // Lists append to the user's (ssh keys, write_files), the user's keys are never replaced.
        Assert.Equal("""[{"name":"list","settings":["append"]},{"name":"dict","settings":["no_replace","recurse_list"]},{"name":"str","settings":[]}]""",
            doc.RootElement.GetProperty("merge_how").GetRawText());
    }

    [Fact]
    public void User_data_is_kept_byte_for_byte_as_the_first_mime_part_and_ours_follows()
    {
        string user = "#cloud-config\n# a comment\nhostname: h1\nruncmd:\n  - echo hi\n";
        string ours = DaemonCloudConfig.Build(["ssh-ed25519 AAAA k"], []);
        string mime = UserData.Compose(user, ours);
        string boundary = mime.Split("boundary=\"")[1].Split('"')[0];
        var parts = mime.Split("--" + boundary);
        Assert.Equal(4, parts.Length); // preamble, user, ours, closing "--"
        Assert.Contains("Content-Type: text/cloud-config", parts[1]);
        Assert.EndsWith("\n\n" + user, parts[1]);
        Assert.EndsWith("\n\n" + ours, parts[2]);
        Assert.Equal("--\n", parts[3]);
        Assert.Contains("Content-Type: text/x-shellscript", UserData.Compose("#!/bin/sh\necho hi\n", ours));
    }

    [Theory]
    [InlineData("hostname: x\n")]                         // no header
    [InlineData("#cloud-config\nhostname:\n\tx: 1\n")]    // a tab for indentation
    [InlineData("#cloud-config\n- a list\n")]             // not a mapping
    [InlineData("Content-Type: multipart/mixed\n")]
    public void Bad_user_data_is_a_400(string userData)
    {
        var e = Assert.Throws<WorkspacesException>(() => UserData.ContentType(userData));
        Assert.Equal(400, e.Status);
    }

    [Fact]
    public void User_data_and_secrets_are_bounded_and_secret_names_are_plain_words()
    {
        Assert.Equal(400, Assert.Throws<WorkspacesException>(() => UserData.ContentType("#!/bin/sh\n" + new string('x', UserData.MaxBytes))).Status);
        foreach (var name in new[] { "../x", ".hidden", "a/b", "x\n", "", new string('a', 65) })
            Assert.Equal(400, Assert.Throws<WorkspacesException>(() => SecretName.Check(name)).Status);
        SecretName.Check("db.password_2-x");
        var big = new Dictionary<string, string> { ["k"] = Convert.ToBase64String(new byte[SecretName.MaxBytes + 1]) };
        Assert.Equal(400, Assert.Throws<WorkspacesException>(() => SecretName.Decode(big)).Status);
        Assert.Equal(400, Assert.Throws<WorkspacesException>(() => SshKeys.Parse(["not a key"])).Status);
        Assert.Equal(["ssh-ed25519 AAAA k"], SshKeys.Parse(["# mine\n\nssh-ed25519 AAAA k\n"]));
    }

    [Fact]
    public void The_seed_carries_instance_id_hostname_the_static_address_and_one_time_files_only_until_delivered()
    {
        var input = new SeedInput("abc123", "web1", new SeedAddress("52:54:00:AA:BB:CC", "10.87.0.5", 24, "10.87.0.1"), null, [], [Identity, Secret]);
        var first = SeedContents.For(input, withOneTimeFiles: true);
        Assert.Equal("instance-id: abc123\nlocal-hostname: web1\n", first.MetaData);
        Assert.Equal("""
            version: 2
            ethernets:
              nic0:
                match:
                  macaddress: "52:54:00:aa:bb:cc"
                dhcp4: false
                addresses: ["10.87.0.5/24"]
                gateway4: 10.87.0.1
                nameservers:
                  addresses: [10.87.0.1]

            """.Replace("\r", ""), first.NetworkConfig);
        Assert.Equal(["workspaces/identity.json", "workspaces/secrets/token"], first.Files.Select(f => f.SeedPath));
        Assert.Contains(Convert.ToBase64String("hunter2"u8), first.UserData);

        var later = SeedContents.For(input, withOneTimeFiles: false);
        Assert.Equal(first.MetaData, later.MetaData); // the same instance: cloud-init does not run again
        Assert.Equal(["workspaces/identity.json"], later.Files.Select(f => f.SeedPath));
        Assert.DoesNotContain(Convert.ToBase64String("hunter2"u8), later.UserData);
        Assert.Null(SeedContents.For(input with { Address = null }, true).NetworkConfig);
    }

    [Fact]
    public void A_seed_is_fingerprinted_by_all_it_holds_and_never_while_it_holds_one_time_files()
    {
        var input = new SeedInput("abc123", "web1", new SeedAddress("52:54:00:AA:BB:CC", "10.87.0.5", 24, "10.87.0.1"), null, [], [Identity, Secret]);
        Assert.Null(SeedContents.For(input, withOneTimeFiles: true).Fingerprint()); // no hash of a secret is kept
        string? plain = SeedContents.For(input, withOneTimeFiles: false).Fingerprint();
        Assert.Matches("^[0-9a-f]{64}\\z", plain);
        Assert.Equal(plain, SeedContents.For(input, withOneTimeFiles: false).Fingerprint());
        var others = new[]
        {
            input with { Address = input.Address! with { Address = "10.87.0.6" } },
            input with { Address = null },
            input with { UserData = "#cloud-config\nhostname: other\n" },
            input with { HostName = "web2" },
        };
        Assert.All(others, other => Assert.NotEqual(plain, SeedContents.For(other, withOneTimeFiles: false).Fingerprint()));
    }

    private static readonly IdentityClaims Claims = new("0123456789abcdef", "web1", 1000, "f00d", "hostA", "", "2026-11-26T20:00:00Z", "ed25519:AAAA");

    [Fact]
    public void The_identity_documents_canonical_form_is_sorted_compact_json_and_the_document_adds_only_the_signature()
    {
        using var host = new HostIdentity(Directory.CreateTempSubdirectory("ws-id-").FullName);
        var claims = Claims with { HostKey = host.SigningPublicKey };
        string canonical = Encoding.UTF8.GetString(IdentityDocument.Canonical(claims));
        Assert.Equal($$"""{"host_key":"{{host.SigningPublicKey.Replace("+", "\\u002B")}}","host_name":"hostA","image":"f00d","issued_at":"2026-11-26T20:00:00Z","name":"web1","owner":1000,"version":1,"workspace_id":"0123456789abcdef","workspace_key":"ed25519:AAAA"}""",
            canonical);
        string document = IdentityDocument.Sign(claims, host);
        Assert.StartsWith(canonical[..^1] + ",\"signature\":\"", document);
        byte[] signature = Convert.FromBase64String(JsonDocument.Parse(document).RootElement.GetProperty("signature").GetString()!);
        Assert.True(SignatureAlgorithm.Ed25519.Verify(KeyText.ParseSigning(host.SigningPublicKey), Encoding.UTF8.GetBytes(canonical), signature));

        Assert.True(IdentityDocument.Verify(document, host.SigningPublicKey).Valid);
        // Every single flipped bit fails: a changed value, a broken name or structure, a changed signature.
        for (int i = 0; i < document.Length; i++)
        {
            string flipped = document[..i] + (char)(document[i] ^ 1) + document[(i + 1)..];
            Assert.False(IdentityDocument.Verify(flipped, host.SigningPublicKey).Valid, $"a flip at {i} still verified: {flipped}");
        }
        using var other = new HostIdentity(Directory.CreateTempSubdirectory("ws-id-").FullName);
        var wrongHost = IdentityDocument.Verify(document, other.SigningPublicKey);
        Assert.False(wrongHost.Valid);
        Assert.Equal(2, wrongHost.Problems.Count); // it names another host, and the signature is not that host's
    }
}
