using System.Text.Json.Serialization;

namespace Workspaces.Client;

/// <summary>POST /v1/playgrounds/verify: a playground identity document (its text, as a member holds it at /etc/playground.json).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record PlaygroundVerifyRequest(string Document);

/// <summary>
/// The verdict on a playground identity document, checked against the keys this daemon pins (its own
/// and its peers'): valid, or every problem found, each naming the member or the playground it is
/// about; what it claims when it could be read.
/// </summary>
public sealed record PlaygroundVerifyResult(bool Valid, string[] Problems, string? Name = null, string? AppliedBy = null, string? IssuedAt = null, string[]? Members = null);
