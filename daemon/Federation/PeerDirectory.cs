using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// Who this host's peers are: join tokens and their redemption (both ways), pins by hand, removal,
/// and this host's own summary as peers see it. A peer is its pinned certificate fingerprint; its
/// name is only what this host calls it.
/// </summary>
public sealed class PeerDirectory(
    PeerRepository peers,
    PeerChannel channel,
    PeerCertificate certificate,
    HostIdentity host,
    WireGuardKey wireGuard,
    Admission admission,
    ImageRepository images,
    EventBus events,
    IAuditRecorder audit,
    IOptionsMonitor<WorkspacesOptions> options,
    ILogger<PeerDirectory> logger)
{
    public static readonly TimeSpan DefaultTokenLifetime = TimeSpan.FromHours(1);
    private static readonly TimeSpan MaxTokenLifetime = TimeSpan.FromDays(30);

    public string Name => options.CurrentValue.Peers.Name ?? Dns.GetHostName().ToLowerInvariant();

    public IReadOnlyList<PeerRow> List() => peers.List();

    public PeerRow Get(string name) =>
        peers.Find(name) ?? throw WorkspacesException.NotFound($"no peer named {Names.Quote(name)} (see `ws peer list`)");

    public JoinToken CreateToken(TimeSpan? lifetime)
    {
        var span = lifetime ?? DefaultTokenLifetime;
        if (span <= TimeSpan.Zero || span > MaxTokenLifetime)
            throw WorkspacesException.BadRequest($"a token may last from 1 second to {MaxTokenLifetime.TotalDays:0} days");
        var token = JoinToken.New(Name, RequireListener(), certificate.Fingerprint, DateTimeOffset.UtcNow + span);
        peers.AddToken(JoinToken.Hash(token.Secret), token.ExpiresAt);
        return token;
    }

    /// <summary>The joining side: dial the token's host pinned to its fingerprint, redeem the secret, record it.</summary>
    public async Task<PeerRow> JoinAsync(string name, string tokenText, CancellationToken ct)
    {
        Names.CheckPeer(name);
        var token = JoinToken.Decode(tokenText);
        string fingerprint = PeerCertificate.NormalizeFingerprint(token.Fingerprint)
            ?? throw WorkspacesException.BadRequest("the token's fingerprint is not a SHA-256 fingerprint");
        if (DateTimeOffset.FromUnixTimeSeconds(token.ExpiresAt) <= DateTimeOffset.UtcNow)
            throw WorkspacesException.Forbidden($"the token expired at {DateTimeOffset.FromUnixTimeSeconds(token.ExpiresAt):u}; ask '{token.Name}' for a new one");
        CheckFree(name, fingerprint);
        var request = new PeerJoinRequest(token.Secret, Name, RequireListener(), host.SigningPublicKey, host.SealingPublicKey, certificate.Binding);
        var failures = new List<string>();
        foreach (string address in token.Addresses)
        {
            var http = channel.For(address, fingerprint);
            PeerHostSummary answer;
            try
            {
                answer = await PeerCall.PostAsync(http, name, "v1/peer/join", request,
                    WorkspacesJson.Default.PeerJoinRequest, WorkspacesJson.Default.PeerHostSummary, ct);
            }
            catch (PeerFailure e) when (e.Fault == PeerFault.Unreachable)
            {
                failures.Add(e.Message);
                continue;
            }
            catch (PeerFailure e) when (e.Fault == PeerFault.RefusedUs)
            {
                // An unknown certificate passes its handshake only while a token is open there.
                throw new PeerFailure(PeerFault.RefusedUs, $"'{token.Name}' at {address} refused this host's certificate at the handshake: " +
                    "it has no open join token (this one was used already, or has expired)");
            }
            catch (PeerFailure e) when (e.Fault == PeerFault.NotPinned)
            {
                throw new PeerFailure(PeerFault.NotPinned, $"'{token.Name}' at {address} presented a certificate that is not the one the token names: " +
                    "no secret was sent (a wrong address, or someone in between?)");
            }
            if (answer.TlsFingerprint != fingerprint || !PeerCertificate.BindingHolds(fingerprint, answer.SigningKey, answer.Binding))
                throw new WorkspacesException(502, "Peer refused", $"peer '{name}' at {address} does not prove that its signing key holds its certificate");
            var row = new PeerRow(name, address, fingerprint, answer.SigningKey, answer.SealingKey, Now);
            Record(row);
            return row;
        }
        throw new PeerFailure(PeerFault.Unreachable, $"could not join '{token.Name}': {string.Join("; ", failures)}");
    }

    /// <summary>The inviting side: a host presenting an unknown certificate redeems a token.</summary>
    public PeerHostSummary AcceptJoin(PeerJoinRequest request, string presentedFingerprint)
    {
        Names.CheckPeer(request.Name);
        string hash = JoinToken.Hash(request.Secret ?? "");
        switch (peers.UseToken(hash, Now))
        {
            case TokenUse.Unknown: throw WorkspacesException.Forbidden("the join token is not one this host issued");
            case TokenUse.AlreadyUsed: throw WorkspacesException.Forbidden("the join token was used already: a token works once");
            case TokenUse.Expired: throw WorkspacesException.Forbidden("the join token has expired");
        }
        try
        {
            if (!PeerCertificate.BindingHolds(presentedFingerprint, request.SigningKey, request.Binding))
                throw WorkspacesException.Forbidden("the joining host's signing key does not vouch for the certificate it presented");
            KeyText.ParseSealing(request.SealingKey);
            string address = request.Addresses.FirstOrDefault(a => a.Length is > 0 and < 256)
                ?? throw WorkspacesException.BadRequest("the joining host names no address to reach it at");
            CheckFree(request.Name, presentedFingerprint);
            Record(new PeerRow(request.Name, address, presentedFingerprint, KeyText.NormalizeSigning(request.SigningKey), request.SealingKey, Now));
        }
        catch
        {
            peers.ReleaseToken(hash); // the token stays good for a join that can succeed
            throw;
        }
        return Summary();
    }

    /// <summary>Pins a host by address and fingerprint (it must pin this one too); its keys are learnt at first contact.</summary>
    public async Task<PeerRow> PinAsync(string name, string address, string fingerprintText, CancellationToken ct)
    {
        Names.CheckPeer(name);
        CheckAddress(address);
        string fingerprint = PeerCertificate.NormalizeFingerprint(fingerprintText)
            ?? throw WorkspacesException.BadRequest($"{Names.Quote(fingerprintText)} is not a certificate fingerprint: give SHA256:HEX as `ws host` shows it");
        CheckFree(name, fingerprint);
        var row = new PeerRow(name, address, fingerprint, null, null, Now);
        Record(row);
        try
        {
            await LearnKeysAsync(row, ct);
        }
        catch (WorkspacesException e)
        {
            // Not yet reachable, or not yet pinned on its side: the keys come with the first check that answers.
            PeerLog.KeysLater(logger, name, e.Message);
        }
        return peers.Find(name)!;
    }

    /// <summary>Asks a peer who it is; records its keys if they were not known, refuses a peer whose keys changed.</summary>
    public async Task<PeerHostSummary> LearnKeysAsync(PeerRow peer, CancellationToken ct)
    {
        var summary = await PeerCall.GetAsync(channel.For(peer.Address, peer.TlsFingerprint), peer.Name, "v1/peer/host", WorkspacesJson.Default.PeerHostSummary, ct);
        if (!PeerCertificate.BindingHolds(peer.TlsFingerprint, summary.SigningKey, summary.Binding))
            throw new WorkspacesException(502, "Peer refused", $"peer '{peer.Name}' does not prove that its signing key holds its certificate");
        if (peer.SigningKey is null) peers.SetKeys(peer.Name, KeyText.NormalizeSigning(summary.SigningKey), summary.SealingKey);
        else if (peer.SigningKey != KeyText.NormalizeSigning(summary.SigningKey))
            throw new WorkspacesException(502, "Peer refused", $"peer '{peer.Name}' now shows another signing key than the one recorded when it joined");
        return summary;
    }

    public void Remove(string name)
    {
        var peer = Get(name);
        if (!peers.Remove(name, Now)) throw WorkspacesException.NotFound($"no peer named {Names.Quote(name)}");
        channel.Forget(peer.Address, peer.TlsFingerprint);
        PeerLog.Removed(logger, name, peer.TlsFingerprint);
        events.Publish(new EventInfo(DateTimeOffset.UtcNow, "peer", null, "removed", null, null, Peer: name), 0);
    }

    /// <summary>This host as its peers see it.</summary>
    public PeerHostSummary Summary()
    {
        var capacity = admission.Capacity;
        var committed = admission.Committed();
        return new PeerHostSummary(Name, System.Reflection.Assembly.GetExecutingAssembly().GetName().Version?.ToString(3) ?? "0.0.0",
            AdvertisedAddresses(), certificate.Fingerprint, host.SigningPublicKey, host.SealingPublicKey, certificate.Binding,
            capacity.Vcpus, capacity.MemoryMiB, Math.Max(0, capacity.Vcpus - committed.Vcpus), Math.Max(0, capacity.MemoryMiB - committed.MemoryMiB),
            images.Count(), wireGuard.PublicKey);
    }

    /// <summary>Where peers can reach this host: configured, else the listen address, else each of the host's addresses.</summary>
    public string[] AdvertisedAddresses()
    {
        var o = options.CurrentValue.Peers;
        if (o.Addresses.Length > 0) return o.Addresses;
        if (o.Listen is not { Length: > 0 } listen || !IPEndPoint.TryParse(listen, out var endpoint)) return [];
        if (!endpoint.Address.Equals(IPAddress.Any) && !endpoint.Address.Equals(IPAddress.IPv6Any)) return [listen];
        return NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Where(a => a.Address.AddressFamily == AddressFamily.InterNetwork)
            .Select(a => $"{a.Address}:{endpoint.Port}")
            .ToArray();
    }

    private string[] RequireListener() =>
        AdvertisedAddresses() is { Length: > 0 } addresses ? addresses
            : throw WorkspacesException.Conflict("this host has no peer listener: set peers.listen (e.g. \"0.0.0.0:8743\") in the config and restart");

    private void CheckFree(string name, string fingerprint)
    {
        if (fingerprint == certificate.Fingerprint) throw WorkspacesException.BadRequest("that is this host's own certificate");
        if (peers.Find(name) is not null) throw WorkspacesException.Conflict($"a peer named '{name}' exists already");
        if (peers.FindByFingerprint(fingerprint) is { } same) throw WorkspacesException.Conflict($"that host is a peer already, as '{same.Name}'");
    }

    private static void CheckAddress(string address)
    {
        if (!IPEndPoint.TryParse(address, out var endpoint) || endpoint.Port == 0)
            throw WorkspacesException.BadRequest($"{Names.Quote(address)} is not ADDRESS:PORT (an IP address, e.g. 10.99.0.2:8743)");
    }

    private void Record(PeerRow row)
    {
        if (!peers.TryAdd(row)) throw WorkspacesException.Conflict($"a peer named '{row.Name}', or with that certificate, was added at the same time");
        PeerLog.Joined(logger, row.Name, row.Address, row.TlsFingerprint);
        events.Publish(new EventInfo(DateTimeOffset.UtcNow, "peer", null, "joined", row.Address, null, Peer: row.Name), 0);
        audit.Decided("peer.joined", "peers/" + row.Name, null,
            new Dictionary<string, string> { ["address"] = row.Address, ["fingerprint"] = row.TlsFingerprint });
    }

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
