namespace Workspaces.Daemon.Audit;

/// <summary>GET /v1/audit's filters. Owner: set for an ordinary user (only records about their own workspaces).</summary>
public sealed record AuditQuery(DateTimeOffset? Since, string? Workspace, uint? Actor, uint? Owner, int Limit);
