using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Two Debian guests (cloud-init, qemu-guest-agent) booted once for the class, on a network in the
/// daemon's own namespace: "job" with user-data (a hostname, a file, a job that succeeds), an ssh
/// key and a secret; "failing" whose job exits 3.
/// </summary>
public sealed class SeedFixture : IAsyncLifetime
{
    public const string Secret = "s3cr3t-value-4f1c9e2a7b";
    public const string SshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOl0Z3VhcmRlZC10ZXN0LWtleS1mb3Itc2VlZHMAAAAA seed-test";
    public NetNamespace Ns { get; private set; } = null!;
    public DaemonProcess Daemon { get; private set; } = null!;
    private string _dir = "";

    public async Task InitializeAsync()
    {
        Ns = await NetNamespace.CreateAsync("s");
        Daemon = await DaemonProcess.StartAsync(netns: Ns.Name);
        var client = Daemon.Client;
        await GuestImages.ImportDebianAsync(client);
        _dir = Directory.CreateTempSubdirectory("ws-seed-").FullName;
        string F(string name, string text) { string p = Path.Combine(_dir, name); File.WriteAllText(p, text); return p; }
        string userData = """
            #cloud-config
            hostname: jobhost
            write_files:
              - path: /root/from-user-data
                content: "written by user-data\n"
            runcmd:
              - [sh, -c, "cat /etc/workspaces/secrets/token > /root/secret-seen; echo job-ran > /root/job"]
            """;
        string failing = "#cloud-config\nruncmd:\n  - [sh, -c, \"exit 3\"]\n";
        var secrets = new Dictionary<string, string> { ["token"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(Secret)) };
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("job", "debian", MemoryMiB: 512, Network: "default",
            UserData: File.ReadAllText(F("user-data", userData)), SshKeys: [SshKey], Secrets: secrets));
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("failing", "debian", MemoryMiB: 512, Network: "default", UserData: failing));
        await client.ActAndWaitAsync("job", "start");
        await client.ActAndWaitAsync("failing", "start");
    }

    public async Task DisposeAsync()
    {
        await Daemon.DisposeAsync();
        await Ns.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}

public sealed class SeedTests(SeedFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<SeedFixture>
{
    private DaemonProcess Daemon => fixture.Daemon;
    private static readonly TimeSpan Boot = TimeSpan.FromMinutes(8);

    private async Task<JobResult> JobAsync(string name)
    {
        var clock = Stopwatch.StartNew();
        var result = await Daemon.Client.WaitJobAsync(name, Boot);
        output.WriteLine($"{name}: cloud-init {result.Status} after {clock.Elapsed.TotalSeconds:0.0} s more");
        return result;
    }

    [Fact]
    public async Task User_data_sets_the_hostname_writes_files_and_its_job_succeeds_with_the_ssh_key_and_leased_address()
    {
        Assert.Equal(("done", 0), ((await JobAsync("job")).Status, (await JobAsync("job")).Errors.Length));
        Assert.Equal("jobhost", (await GuestShell.RunAsync(Daemon, "job", "hostname")).Trim());
        Assert.Equal("written by user-data", (await GuestShell.RunAsync(Daemon, "job", "cat /root/from-user-data")).Trim());
        Assert.Equal("job-ran", (await GuestShell.RunAsync(Daemon, "job", "cat /root/job")).Trim());
        Assert.Contains(SeedFixture.SshKey, await GuestShell.RunAsync(Daemon, "job", "cat /root/.ssh/authorized_keys"));
        var nic = (await Daemon.Client.GetWorkspaceAsync("job")).Nic!;
        Assert.Contains($"inet {nic.Address}/", await GuestShell.RunAsync(Daemon, "job", "ip -4 addr show"));
        var info = await Daemon.Client.GetWorkspaceAsync("job");
        Assert.Equal(info.Id, (await GuestShell.RunAsync(Daemon, "job", "cloud-init query instance_id")).Trim());
    }

    [Fact]
    public async Task The_identity_document_verifies_against_the_host_key_and_a_flipped_byte_fails()
    {
        string document = await Daemon.Client.GetIdentityAsync("job");
        var host = await Daemon.Client.GetHostAsync();
        var ok = await Daemon.Client.VerifyIdentityAsync(new IdentityVerifyRequest(document));
        Assert.True(ok.Valid, string.Join("; ", ok.Problems));
        Assert.Equal(("job", (await Daemon.Client.GetWorkspaceAsync("job")).Id), (ok.Name, ok.WorkspaceId));
        Assert.True((await Daemon.Client.VerifyIdentityAsync(new IdentityVerifyRequest(document, host.SigningKey))).Valid);

        int at = document.IndexOf("\"name\":\"job\"", StringComparison.Ordinal) + "\"name\":\"j".Length;
        string flipped = document[..at] + (char)(document[at] ^ 1) + document[(at + 1)..];
        var bad = await Daemon.Client.VerifyIdentityAsync(new IdentityVerifyRequest(flipped));
        Assert.False(bad.Valid);
        Assert.Contains(bad.Problems, p => p.Contains("signature does not match", StringComparison.Ordinal));

        // The guest has the same document and its private key.
        await JobAsync("job");
        Assert.Equal(document, (await GuestShell.RunAsync(Daemon, "job", "cat /etc/workspaces/identity.json")).Trim());
        Assert.Contains("BEGIN PRIVATE KEY", await GuestShell.RunAsync(Daemon, "job", "cat /etc/workspaces/identity.key"));
    }

    [Fact]
    public async Task A_secret_reaches_the_guest_only_and_leaves_the_seed_after_the_first_confirmed_boot()
    {
        await JobAsync("job");
        Assert.Equal(SeedFixture.Secret, (await GuestShell.RunAsync(Daemon, "job", "cat /root/secret-seen")).Trim());
        Assert.Equal("600", (await GuestShell.RunAsync(Daemon, "job", "stat -c %a /etc/workspaces/secrets/token")).Trim());

        var id = (await Daemon.Client.GetWorkspaceAsync("job")).Id;
        string seed = Path.Combine(Daemon.Layout.Dir(id), "seed.iso");
        byte[] secret = Encoding.UTF8.GetBytes(SeedFixture.Secret);
        byte[] secretB64 = Encoding.ASCII.GetBytes(Convert.ToBase64String(secret));
        // The watch rewrites the seed within a few seconds of cloud-init's result.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (Contains(File.ReadAllBytes(seed), secret) || Contains(File.ReadAllBytes(seed), secretB64))
        {
            Assert.True(DateTime.UtcNow < deadline, "the seed still holds the secret a minute after the first boot was confirmed");
            await Task.Delay(500);
        }
        Assert.Contains("confirmed its first boot", Daemon.Log);

        // No API answer carries it.
        var answers = new List<string>
        {
            JsonSerializer.Serialize(await Daemon.Client.GetWorkspaceAsync("job"), WorkspacesJson.Default.WorkspaceInfo),
            JsonSerializer.Serialize(await Daemon.Client.ListWorkspacesAsync(), WorkspacesJson.Default.WorkspaceInfoArray),
            JsonSerializer.Serialize(await Daemon.Client.GetStatusAsync("job"), WorkspacesJson.Default.GuestStatus),
            await Daemon.Client.GetIdentityAsync("job"),
        };
        foreach (var answer in answers)
            Assert.False(answer.Contains(SeedFixture.Secret) || answer.Contains(Convert.ToBase64String(secret)), answer);

        // Nothing the daemon stores holds it in clear (nor in base64). The guest's own disk is the one exception, and must
        // be: the guest wrote the secret there (/etc/workspaces/secrets, and cloud-init's cached user-data).
        Assert.True(Contains(File.ReadAllBytes(Daemon.Layout.Overlay(id)), secret)); // so the search below could find it
        foreach (var file in Directory.EnumerateFiles(Daemon.StateDir, "*", SearchOption.AllDirectories))
        {
            if (file.StartsWith(Daemon.Layout.Dir(id), StringComparison.Ordinal) && Path.GetFileName(file) == "disk.qcow2") continue;
            if (file.EndsWith(".sock", StringComparison.Ordinal)) continue;
            byte[] bytes;
            try { bytes = File.ReadAllBytes(file); } catch (IOException) { continue; }
            Assert.False(Contains(bytes, secret) || Contains(bytes, secretB64), $"{file} holds the secret");
        }
    }

    [Fact]
    public async Task A_job_that_fails_is_an_error_and_a_copy_is_a_new_instance_that_re_runs_the_per_instance_steps()
    {
        // One test, as it stops "failing" to copy it.
        var failed = await JobAsync("failing");
        Assert.Equal("error", failed.Status);
        Assert.Contains(failed.Errors, e => e.Contains("scripts_user", StringComparison.Ordinal) || e.Contains("scripts-user", StringComparison.Ordinal));
        var source = await Daemon.Client.GetWorkspaceAsync("failing");
        await Daemon.Client.ActAndWaitAsync("failing", "stop", "force=true");
        var copy = await Daemon.Client.CopyWorkspaceAsync("failing", "copied");
        await Daemon.Client.ActAndWaitAsync("copied", "start");
        Assert.Equal("error", (await JobAsync("copied")).Status); // its user-data's job ran again (and failed again)
        Assert.Equal(copy.Id, (await GuestShell.RunAsync(Daemon, "copied", "cloud-init query instance_id")).Trim());
        string hostname = (await GuestShell.RunAsync(Daemon, "copied", "hostname")).Trim();
        if (hostname != "copied")
            output.WriteLine(await GuestShell.RunAsync(Daemon, "copied",
                "cat /etc/hostname; journalctl -b --no-pager -o short-monotonic | grep -iE 'hostname|cloud-init\\[' | tail -n 40; grep -iE 'hostname' /var/log/cloud-init.log | tail -n 30"));
        Assert.Equal("copied", hostname);
        // Both instances' state is on the copied disk: cloud-init saw a new instance and ran its per-instance steps for it.
        var instances = (await GuestShell.RunAsync(Daemon, "copied", "ls /var/lib/cloud/instances")).Split((char[])['\n', ' ', '\r'], StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(new[] { source.Id, copy.Id }.Order(), instances.Order());
        Assert.NotEqual(await Daemon.Client.GetIdentityAsync("failing"), await Daemon.Client.GetIdentityAsync("copied"));
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
