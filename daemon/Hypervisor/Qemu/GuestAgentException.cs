namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>The guest agent answered a command with an error (class and description from qemu-ga).</summary>
public sealed class GuestAgentException(string command, string errorClass, string description)
    : Exception($"guest agent {command} failed: {description}")
{
    public string Command { get; } = command;
    public string ErrorClass { get; } = errorClass;
    public string Description { get; } = description;
}
