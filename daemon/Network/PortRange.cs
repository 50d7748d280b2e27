using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Network;

/// <summary>An inclusive range of ports, written "LOW-HIGH".</summary>
public readonly record struct PortRange(int Low, int High)
{
    public bool Contains(int port) => port >= Low && port <= High;

    /// <summary>Null for an empty text (no range).</summary>
    public static PortRange? Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = text.Split('-');
        if (parts.Length == 2 && int.TryParse(parts[0], out int low) && int.TryParse(parts[1], out int high)
            && low is >= 1024 and <= 65535 && high >= low && high <= 65535)
            return new PortRange(low, high);
        throw new WorkspacesException(503, "Misconfigured", $"policy.userPortRange '{text}' is not LOW-HIGH with 1024 <= LOW <= HIGH <= 65535; fix the configuration");
    }

    public override string ToString() => $"{Low}-{High}";
}
