using System.Text.Json.Serialization;

namespace Workspaces.Client;

/// <summary>POST /v1/playgrounds: a playground document (YAML or JSON text); without Yes, only the plan is answered.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ApplyPlaygroundRequest(string Document, bool Yes = false);

/// <summary>One step of a plan: create, remove or keep a member (or the network), where, and why.</summary>
public sealed record PlaygroundStep(string Action, string Target, string Host, string Why);

/// <summary>What applying a document does (Applied: done; else only planned). No step but "keep": nothing changes.</summary>
public sealed record PlaygroundPlan(string Name, PlaygroundStep[] Steps, bool Applied, bool Unchanged);

/// <summary>A member: its workspace, role and index, where it runs, its state and its address on the playground's network.</summary>
public sealed record PlaygroundMemberInfo(string Name, string Role, int Index, string Host, string State, string? Address, string? Reason = null);

/// <summary>
/// A playground: its network and its members; the document it was applied from (when shown alone).
/// AppliedBy names the peer that applied it when this host only hosts some of its members (null: applied here).
/// </summary>
public sealed record PlaygroundInfo(string Name, string Network, string Subnet, DateTimeOffset AppliedAt, PlaygroundMemberInfo[] Members, string? Document = null,
    string? AppliedBy = null);
