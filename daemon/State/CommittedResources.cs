namespace Workspaces.Daemon.State;

/// <summary>What running and paused workspaces hold of the host.</summary>
public sealed class CommittedResources
{
    public int Vcpus { get; set; }
    public int MemoryMib { get; set; }
}
