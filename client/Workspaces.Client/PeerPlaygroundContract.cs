using System.Text.Json.Serialization;

namespace Workspaces.Client;

/// <summary>
/// POST /v1/peer/playgrounds/{playground}/members (peer API): the applying host tells the member's host
/// that its workspace Name is member Index of role Role of that playground.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record PeerPlaygroundMember(string Name, string Role, int Index);

/// <summary>
/// One member's identity entry as its host signed it (GET /v1/peer/playgrounds/{playground}/identity):
/// the fields of the playground identity document's member object, Signature over its canonical form.
/// </summary>
public sealed record PeerPlaygroundEntry(string Playground, string Name, string Role, int Index, string Host, string HostKey,
    string Mac, string Address, string Signature);
