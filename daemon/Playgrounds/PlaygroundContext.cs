using System.Text;
using Workspaces.Client;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// Mutual contextualization through the guest agent: every running member gets /etc/hosts naming all
/// members by their addresses on the playground's network, the playground's shared SSH key pair
/// (/root/.ssh: id_ed25519, its .pub, authorized_keys), and /etc/playground (its playground, role
/// and index, as shell variables), and /etc/playground.json, the playground's signed identity document
/// (PlaygroundIdentityCodec). Written again after each apply, so members learn of one added
/// (and forget one removed) without a reboot. A member whose agent does not answer is logged and left.
/// Members on peers are asked their addresses of their hosts and written through them (PlaygroundPeers).
/// </summary>
public sealed class PlaygroundContext(
    PlaygroundRepository playgrounds,
    WorkspaceRepository workspaces,
    NetworkService networks,
    WorkspaceAgent agents,
    PlaygroundPeers peers,
    HostIdentity host,
    PlaygroundIdentityIssuer identities,
    ILogger<PlaygroundContext> logger)
{
    /// <summary>How long a member just started has for its agent to answer (a TCG guest boots slowly).</summary>
    public static readonly TimeSpan AgentWait = TimeSpan.FromMinutes(3);

    public async Task SpreadAsync(string playground, CancellationToken ct)
    {
        var all = playgrounds.Members(playground);
        var members = all.Where(m => m.Host is null)
            .Select(m => (Member: m, Row: workspaces.FindById(m.WorkspaceId), Address: networks.NicOf(m.WorkspaceId)?.Address)).ToList();
        var remote = (await Task.WhenAll(all.Where(m => m.Host is not null).Select(async m => (Member: m, Info: await RemoteAsync(m, ct))))).ToList();
        string hosts = Hosts(playground, members.Where(m => m.Address is not null).Select(m => (m.Member.Name, m.Address!))
            .Concat(remote.Where(r => r.Info?.Nic?.Address is not null).Select(r => (r.Member.Name, r.Info!.Nic!.Address!))));
        var row = playgrounds.Find(playground);
        byte[]? privateKey = row is null ? null : KeySeal.Open(Convert.FromBase64String(row.SshSealed), host.SealingKey);
        // Issued once for all: every member holds the same signed document, naming every member's address.
        // Members on peers are signed by their hosts; one that cannot be (its host is down, or its entry
        // is refused) leaves the document unwritten this time rather than written without it.
        var files = new List<(string Path, string Text)> { ("/etc/hosts", hosts) };
        try
        {
            files.Add(("/etc/playground.json", await identities.IssueAsync(playground, ct) + "\n"));
        }
        catch (Exception e) when (e is Errors.WorkspacesException or HttpRequestException)
        {
            PlaygroundTrustLog.NotIssued(logger, playground, e.Message);
        }
        if (row is not null && privateKey is not null)
            files.AddRange([("/root/.ssh/id_ed25519", Encoding.UTF8.GetString(privateKey)), ("/root/.ssh/id_ed25519.pub", row.SshPublic + "\n"),
                ("/root/.ssh/authorized_keys", row.SshPublic + "\n")]);
        await Task.WhenAll(members.Where(m => m.Row?.State == WorkspaceStates.Running)
            .Select(m => WriteAsync(m.Row!, [.. files, ("/etc/playground", Identity(playground, m.Member))], ct))
            .Concat(remote.Where(r => r.Info?.State == WorkspaceStates.Running)
                .Select(r => WriteRemoteAsync(r.Member, [.. files, ("/etc/playground", Identity(playground, r.Member))], ct))));
    }

    /// <summary>A remote member as its host sees it; null (and logged) if the host does not answer.</summary>
    private async Task<WorkspaceInfo?> RemoteAsync(PlaygroundMemberRow member, CancellationToken ct)
    {
        try
        {
            return await peers.MemberAsync(member.Host!, member.Name, ct);
        }
        catch (Errors.WorkspacesException e)
        {
            PlaygroundLog.NotContextualized(logger, member.Name, e.Message);
            return null;
        }
    }

    /// <summary>
    /// Writes a remote member's files through its host, once its agent answers there (asked every few
    /// seconds, up to AgentWait: the peer's API has no wait for an agent).
    /// </summary>
    private async Task WriteRemoteAsync(PlaygroundMemberRow member, IReadOnlyList<(string Path, string Text)> files, CancellationToken ct)
    {
        string peer = member.Host!;
        try
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(AgentWait);
            using var tick = new PeriodicTimer(TimeSpan.FromSeconds(3));
            while (true)
            {
                try
                {
                    await peers.ExecAsync(peer, member.Name, ["/bin/sh", "-c", "umask 077; mkdir -p /root/.ssh; chmod 700 /root/.ssh"], wait.Token);
                    break;
                }
                catch (Errors.WorkspacesException e) when (e.Status is 409 or 503 or 502 or 504 && !wait.IsCancellationRequested) { }
                await tick.WaitForNextTickAsync(wait.Token);
            }
            foreach (var (path, text) in files) await peers.WriteFileAsync(peer, member.Name, path, text, ct);
            await peers.ExecAsync(peer, member.Name, ["/bin/sh", "-c", "chmod 600 /root/.ssh/id_ed25519 /root/.ssh/authorized_keys; chmod 644 /etc/hosts /etc/playground; chmod 644 /etc/playground.json 2>/dev/null || true"], ct);
        }
        catch (Exception e) when (e is Errors.WorkspacesException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            PlaygroundLog.NotContextualized(logger, member.Name, $"on host {peer}: {e.Message}");
        }
    }

    /// <summary>Runs a command through the agent to its end; a non-zero exit is the agent's failure.</summary>
    private static async Task RunAsync(GuestAgent agent, string[] command, CancellationToken ct)
    {
        await using var process = await GuestProcess.StartAsync(agent, new ExecRequest(command, TimeoutSeconds: 30), ct);
        await foreach (var frame in process.FollowAsync(ct))
            if (frame.Exit is { } code && code != 0) throw new GuestAgentException("guest-exec", "", $"{string.Join(' ', command)} exited {code}");
    }

    /// <summary>/etc/hosts for a member: localhost, then every member with an address, by name.</summary>
    public static string Hosts(string playground, IEnumerable<(string Name, string Address)> members)
    {
        var text = new StringBuilder("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
        text.Append($"# playground {playground} (written by workspacesd; rewritten when members change)\n");
        foreach (var (name, address) in members.OrderBy(m => m.Name, StringComparer.Ordinal)) text.Append($"{address}\t{name}\n");
        return text.ToString();
    }

    private static string Identity(string playground, PlaygroundMemberRow member) =>
        $"PLAYGROUND={playground}\nROLE={member.Role}\nINDEX={member.Idx}\nMEMBER={member.Name}\n";

    private async Task WriteAsync(WorkspaceRow row, IReadOnlyList<(string Path, string Text)> files, CancellationToken ct)
    {
        try
        {
            await agents.WaitAsync(row, AgentWait, ct);
            var agent = agents.Of(row);
            // ssh reads a private key only when no one else may: the directory and files are made private first.
            await RunAsync(agent, ["/bin/sh", "-c", "umask 077; mkdir -p /root/.ssh; chmod 700 /root/.ssh"], ct);
            foreach (var (path, text) in files)
                await GuestFileTransfer.CopyInAsync(agent, path, new MemoryStream(Encoding.UTF8.GetBytes(text)), ct);
            await RunAsync(agent, ["/bin/sh", "-c", "chmod 600 /root/.ssh/id_ed25519 /root/.ssh/authorized_keys; chmod 644 /etc/hosts /etc/playground; chmod 644 /etc/playground.json 2>/dev/null || true"], ct);
        }
        catch (Exception e) when (e is GuestAgentUnavailableException or GuestAgentException)
        {
            PlaygroundLog.NotContextualized(logger, row.Name, e.Message);
        }
    }
}
