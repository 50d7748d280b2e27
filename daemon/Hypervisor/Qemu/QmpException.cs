namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>QEMU answered a command with an error (class and description from QMP).</summary>
public sealed class QmpException(string command, string errorClass, string description)
    : Exception($"QMP {command} failed: {description} ({errorClass})")
{
    public string ErrorClass { get; } = errorClass;
}

/// <summary>The QMP socket closed: QEMU exited or the connection broke. Pending commands end with this.</summary>
public sealed class QmpDisconnectedException(string message) : Exception(message);
