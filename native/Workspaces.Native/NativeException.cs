using System.Runtime.InteropServices;

namespace Workspaces.Native;

/// <summary>A failed system call: the call's name and errno, turned into an exception at the boundary.</summary>
public sealed class NativeException(string call, int errno)
    : Exception($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
{
    public string Call { get; } = call;
    public int Errno { get; } = errno;

    internal static NativeException FromLastError(string call) => new(call, Marshal.GetLastPInvokeError());
}
