namespace Workspaces.Testing;

/// <summary>A guest command exited non-zero; Output is what it printed.</summary>
public sealed class GuestCommandException(string command, int code, string output)
    : Exception($"'{command}' exited {code}: {output.Trim()}")
{
    public int Code { get; } = code;
    public string Output { get; } = output;
}
