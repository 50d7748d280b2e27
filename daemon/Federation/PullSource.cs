namespace Workspaces.Daemon.Federation;

/// <summary>A peer a pull reads from: its name here and the pinned channel to it.</summary>
public sealed record PullSource(string Name, HttpClient Http);
