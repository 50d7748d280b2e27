using System.Text;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;
using Workspaces.Tests.Unit.Fakes;

namespace Workspaces.Tests.Unit.Migration;

/// <summary>
/// The destination's checks of a migration ticket (issue #13 item 2), between two in-process daemons
/// with their own host keys and SQLite: the destination pins the source as peer "src". Every refusal
/// here happens in TicketAdmission, which runs before any byte of the workspace moves.
/// </summary>
public sealed class MigrationTicketTests : IAsyncLifetime
{
    private readonly TestMachine _sourceMachine = new();
    private readonly TestMachine _destinationMachine = new();
    private InProcessDaemon _source = null!;
    private InProcessDaemon _destination = null!;
    private ImageRow _image = null!;

    public async Task InitializeAsync()
    {
        _source = InProcessDaemon.Start(_sourceMachine);
        _destination = InProcessDaemon.Start(_destinationMachine, o => (o.Policy.CapacityCpus, o.Policy.CapacityMemoryMiB) = (4, 1024));
        _image = await _source.ImportBootSetAsync();
        var sourceHost = _source.Get<HostIdentity>();
        Assert.True(_destination.Get<PeerRepository>().TryAdd(
            new PeerRow("src", "127.0.0.1:1", new string('f', 64), sourceHost.SigningPublicKey, sourceHost.SealingPublicKey, 0)));
        Assert.True(_destination.Get<NetworkRepository>().TryInsert(new NetworkRow
        {
            Name = "lan", Bridge = "wsbr-lan", Subnet = "10.77.0.0/24", Gateway = "10.77.0.1", CreatedAt = 0,
        }));
    }

    public async Task DisposeAsync()
    {
        await _source.DisposeAsync();
        await _destination.DisposeAsync();
        _sourceMachine.Dispose();
        _destinationMachine.Dispose();
    }

    private TicketAdmission Admission => _destination.Get<TicketAdmission>();

    private MigrationTicket Ticket(Func<MigrationTicket, MigrationTicket>? change = null)
    {
        var source = _source.Get<HostIdentity>();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ticket = new MigrationTicket(
            WorkspaceId: "w-0001", Name: "web", Owner: 1000, Vcpus: 1, MemoryMib: 128, Limits: "{}",
            CpuModel: "qemu64", MachineType: "q35", Mode: MigrationModes.Cold,
            ImageChain: [_image.Id], ImageManifest: Encoding.UTF8.GetString(_source.Images.CanonicalManifest(_image)),
            ImageSignatures: [],
            Mac: "52:54:00:12:34:56", Network: "lan",
            SourceKey: source.SigningPublicKey, DestinationKey: _destination.Get<HostIdentity>().SigningPublicKey,
            SealedDiskKey: null, Nonce: MigrationTicketCodec.NewNonce(), IssuedAt: now, ExpiresAt: now + 60_000);
        return change is null ? ticket : change(ticket);
    }

    private string Signed(MigrationTicket ticket) => MigrationTicketCodec.Sign(ticket, _source.Get<HostIdentity>());

    [Fact]
    public void A_good_ticket_is_admitted_and_recorded_with_its_hash_in_Prepare()
    {
        var ticket = Ticket();
        var (admitted, hash) = Admission.Admit(Signed(ticket), "src");
        Assert.Equal(ticket with { ImageChain = [], ImageSignatures = [] }, admitted with { ImageChain = [], ImageSignatures = [] });
        Assert.Equal(ticket.ImageChain, admitted.ImageChain);
        var row = _destination.Get<MigrationRepository>().Find(hash);
        Assert.NotNull(row);
        Assert.Equal((MigrationPhase.DestinationRole, MigrationPhase.Prepare, (string?)null, "src"), (row.Role, row.Phase, row.Outcome, row.Peer));
        Assert.Equal(64, hash.Length);
    }

    [Fact]
    public void A_replayed_ticket_is_refused_and_so_is_a_new_ticket_reusing_its_nonce()
    {
        var ticket = Ticket();
        string document = Signed(ticket);
        Admission.Admit(document, "src");
        var replay = Assert.Throws<MigrationTicketException>(() => Admission.Admit(document, "src"));
        Assert.Contains("seen before", replay.Message);
        var sameNonce = Assert.Throws<MigrationTicketException>(() => Admission.Admit(Signed(ticket with { Name = "other" }), "src"));
        Assert.Contains("seen before", sameNonce.Message);
    }

    [Fact]
    public void A_ticket_signed_by_an_unpinned_host_is_refused()
    {
        using var stranger = new TestMachine();
        using var strangerHost = new HostIdentity(stranger.StateDir);
        var ticket = Ticket(t => t with { SourceKey = strangerHost.SigningPublicKey });
        var e = Assert.Throws<MigrationTicketException>(() => Admission.Admit(MigrationTicketCodec.Sign(ticket, strangerHost), "src"));
        Assert.Contains("not a pinned peer", e.Message);
        Assert.Equal(403, e.Status);
    }

    [Fact]
    public void A_ticket_naming_the_pinned_source_but_signed_by_another_key_is_refused()
    {
        using var stranger = new TestMachine();
        using var strangerHost = new HostIdentity(stranger.StateDir);
        string forged = Signed(Ticket());
        // Re-sign the same content with another key, keeping the source key the pinned peer's.
        var ticket = MigrationTicketCodec.Open(forged);
        byte[] signature = strangerHost.Sign(MigrationTicketCodec.Canonical(ticket));
        string swapped = forged[..forged.LastIndexOf("\"signature\"", StringComparison.Ordinal)] +
            $"\"signature\":\"{Convert.ToBase64String(signature)}\"}}";
        var e = Assert.Throws<MigrationTicketException>(() => Admission.Admit(swapped, "src"));
        Assert.Contains("signature does not match", e.Message);
    }

    [Fact]
    public void An_altered_ticket_is_refused()
    {
        string document = Signed(Ticket());
        string altered = document.Replace("\"memory_mib\":128", "\"memory_mib\":512", StringComparison.Ordinal);
        Assert.NotEqual(document, altered);
        Assert.Contains("signature does not match", Assert.Throws<MigrationTicketException>(() => Admission.Admit(altered, "src")).Message);
    }

    [Fact]
    public void A_ticket_delivered_by_another_peer_than_its_signer_is_refused()
    {
        var e = Assert.Throws<MigrationTicketException>(() => Admission.Admit(Signed(Ticket()), "someone-else"));
        Assert.Contains("delivered by peer 'someone-else'", e.Message);
    }

    [Fact]
    public void A_ticket_for_another_host_is_refused()
    {
        var ticket = Ticket(t => t with { DestinationKey = _source.Get<HostIdentity>().SigningPublicKey });
        Assert.Contains("not this one", Assert.Throws<MigrationTicketException>(() => Admission.Admit(Signed(ticket), "src")).Message);
    }

    [Fact]
    public void An_expired_ticket_is_refused()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ticket = Ticket(t => t with { IssuedAt = now - 120_000, ExpiresAt = now - 60_000 });
        Assert.Contains("expired", Assert.Throws<MigrationTicketException>(() => Admission.Admit(Signed(ticket), "src")).Message);
    }

    [Theory]
    [InlineData("host", "q35", "not migratable")]
    [InlineData("Pentium-Pro-9000", "q35", "cannot give CPU model 'Pentium-Pro-9000'")]
    [InlineData("qemu64", "pc-i440fx-99", "cannot give machine type 'pc-i440fx-99'")]
    public void A_cpu_model_or_machine_type_this_host_cannot_give_is_refused_and_the_refusal_recorded(string cpu, string machine, string expected)
    {
        var ticket = Ticket(t => t with { CpuModel = cpu, MachineType = machine });
        var e = Assert.Throws<MigrationTicketException>(() => Admission.Admit(Signed(ticket), "src"));
        Assert.Contains(expected, e.Message);
        var row = _destination.Get<MigrationRepository>().Find(MigrationTicketCodec.Hash(ticket));
        Assert.Equal((MigrationOutcome.Refused, e.Message), (row!.Outcome, row.Detail));
    }

    [Fact]
    public void A_workspace_whose_network_the_destination_lacks_is_refused()
    {
        var ticket = Ticket(t => t with { Network = "dmz" });
        Assert.Contains("no network named 'dmz'", Assert.Throws<MigrationTicketException>(() => Admission.Admit(Signed(ticket), "src")).Message);
    }

    [Fact]
    public void A_shape_over_the_destinations_capacity_is_refused_with_a_counter_offer()
    {
        var ticket = Ticket(t => t with { Vcpus = 8, MemoryMib = 4096, Mode = MigrationModes.Stateful });
        var e = Assert.Throws<WorkspacesException>(() => Admission.Admit(Signed(ticket), "src"));
        Assert.Equal(409, e.Status);
        Assert.Equal(new Workspaces.Client.WorkspaceShape(4, 1024), e.Offer);
    }

    [Fact]
    public async Task The_destinations_own_image_policy_decides_and_a_trusted_signature_carried_in_the_ticket_passes_it()
    {
        await _destination.DisposeAsync();
        _destination = InProcessDaemon.Start(_destinationMachine, o => o.Policy.RequireSignedImages = true);
        var refused = Assert.Throws<WorkspacesException>(() => Admission.Admit(Signed(Ticket()), "src"));
        Assert.Contains("requireSignedImages", refused.Message);
        Assert.Contains("unsigned", refused.Message);

        var signature = _source.Images.HostSignature(_image);
        var signedImage = Ticket(t => t with { ImageSignatures = [new MigrationTicketSignature(signature.Signer, signature.Signature)] });
        var untrusted = Assert.Throws<WorkspacesException>(() => Admission.Admit(Signed(signedImage), "src"));
        Assert.Contains("not a trusted key", untrusted.Message);

        _destination.Get<TrustPolicy>().Add("src-signer", _source.Get<HostIdentity>().SigningPublicKey);
        var resent = signedImage with { Nonce = MigrationTicketCodec.NewNonce() };
        Admission.Admit(Signed(resent), "src");
    }

    [Fact]
    public void A_manifest_that_is_not_the_top_of_the_chain_is_refused()
    {
        var ticket = Ticket(t => t with { ImageChain = [new string('0', 64)] });
        Assert.Contains("not the top", Assert.Throws<MigrationTicketException>(() => Admission.Admit(Signed(ticket), "src")).Message);
    }

    [Fact]
    public void A_sealed_image_needs_a_seal_of_its_key_that_opens_here()
    {
        var sealedManifest = ImageManifest.Parse(_source.Images.CanonicalManifest(_image)) with { Encrypted = true };
        string manifest = Encoding.UTF8.GetString(sealedManifest.ToCanonicalJson());
        var none = Ticket(t => t with { ImageManifest = manifest });
        Assert.Contains("carries no seal", Assert.Throws<MigrationTicketException>(() => Admission.Admit(Signed(none), "src")).Message);

        byte[] diskKey = Encoding.ASCII.GetBytes("0123456789abcdef0123456789abcdef");
        var toSource = KeySeal.Seal(diskKey, KeyText.ParseSealing(_source.Get<HostIdentity>().SealingPublicKey));
        var wrong = Ticket(t => t with { ImageManifest = manifest, SealedDiskKey = Convert.ToHexStringLower(toSource) });
        Assert.Contains("does not open", Assert.Throws<MigrationTicketException>(() => Admission.Admit(Signed(wrong), "src")).Message);

        var toDestination = KeySeal.Seal(diskKey, KeyText.ParseSealing(_destination.Get<HostIdentity>().SealingPublicKey));
        var good = Ticket(t => t with { ImageManifest = manifest, SealedDiskKey = Convert.ToHexStringLower(toDestination) });
        Admission.Admit(Signed(good), "src");
        Assert.DoesNotContain("0123456789abcdef", Signed(good));
    }

    [Fact]
    public async Task The_source_begins_by_recording_and_signing_a_ticket_that_the_destination_admits()
    {
        var destinationHost = _destination.Get<HostIdentity>();
        Assert.True(_source.Get<PeerRepository>().TryAdd(
            new PeerRow("dst", "127.0.0.1:2", new string('e', 64), destinationHost.SigningPublicKey, destinationHost.SealingPublicKey, 0)));
        var workspace = await _source.CreateAsync("web");
        var (ticket, document, hash) = _source.Get<TicketIssuer>().Begin(workspace, "dst", MigrationModes.Cold);

        var begun = _source.Get<MigrationRepository>().Find(hash)!;
        Assert.Equal((MigrationPhase.SourceRole, MigrationPhase.Begin, "dst", workspace.Id), (begun.Role, begun.Phase, begun.Peer, begun.WorkspaceId));
        Assert.Equal([_image.Id], ticket.ImageChain);
        Assert.Equal(("qemu64", "q35"), (ticket.CpuModel, ticket.MachineType)); // the workspace's recorded model, the default
        var (admitted, admittedHash) = Admission.Admit(document, "src");
        Assert.Equal(hash, admittedHash);
        Assert.Equal((workspace.Name, workspace.Owner, workspace.MemoryMib), (admitted.Name, admitted.Owner, admitted.MemoryMib));
        Assert.Equal(MigrationPhase.Prepare, _destination.Get<MigrationRepository>().Find(hash)!.Phase);
    }

    [Fact]
    public void The_canonical_form_is_stable_ordered_and_refuses_unknown_members()
    {
        var ticket = Ticket();
        string canonical = Encoding.UTF8.GetString(MigrationTicketCodec.Canonical(ticket));
        Assert.StartsWith("{\"copy_as\":null,\"cpu_model\":\"qemu64\",\"destination_key\":", canonical);
        Assert.EndsWith($"\"version\":1,\"workspace_id\":\"w-0001\"}}", canonical);
        string document = Signed(ticket);
        Assert.Equal(ticket.Nonce, MigrationTicketCodec.Open(document).Nonce);
        string extra = document.Replace("{\"copy_as\"", "{\"admin\":true,\"copy_as\"", StringComparison.Ordinal);
        Assert.Contains("a ticket has exactly", Assert.Throws<MigrationTicketException>(() => MigrationTicketCodec.Open(extra)).Message);
    }

    [Fact]
    public void A_copys_name_and_the_nics_own_policy_are_signed_with_the_ticket()
    {
        var ticket = Ticket(t => t with { CopyAs = "twin", Egress = "10.0.0.0/8:443", RateKbit = 2000 });
        var opened = MigrationTicketCodec.Open(Signed(ticket));
        Assert.Equal(("twin", "10.0.0.0/8:443", (int?)2000), (opened.CopyAs, opened.Egress, opened.RateKbit));
        Assert.Equal(MigrationTicketCodec.Hash(ticket)[..16], opened.ArrivingId(MigrationTicketCodec.Hash(ticket)));
        Assert.Equal((ticket.WorkspaceId, ticket.Name), (Ticket().ArrivingId("f".PadRight(64, 'f')), Ticket().ArrivingName()));
        // Changing the copy's name after signing is an alteration.
        string renamed = Signed(ticket).Replace("\"copy_as\":\"twin\"", "\"copy_as\":\"evil\"", StringComparison.Ordinal);
        Assert.Contains("altered", Assert.Throws<MigrationTicketException>(() => MigrationTicketCodec.Open(renamed)).Message);
    }
}
