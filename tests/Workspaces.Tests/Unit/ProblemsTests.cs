using Workspaces.Daemon.Api;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Native;

namespace Workspaces.Tests.Unit;

/// <summary>What the host or a caller can cause is never a 500: each failure type has its status and a message to act on.</summary>
public sealed class ProblemsTests
{
    public static TheoryData<Exception, int, string> Failures() => new()
    {
        { WorkspacesException.Conflict("it is Running"), 409, "it is Running" },
        { new QmpException("device_add", "GenericError", "Duplicate ID"), 503, "QMP device_add failed: Duplicate ID" },
        { new QmpDisconnectedException("QEMU closed the socket"), 503, "it has exited or is exiting" },
        { new HypervisorException("QEMU refused to start 'web': could not open disk"), 503, "could not open disk" },
        { new NftablesException("Operation not permitted"), 503, "check that nftables works here" },
        { new NativeException("TUNSETIFF", 1), 503, "it needs root" },
        { new NativeException("fallocate", 28), 507, "is full" },
        { new NativeException("ioctl", 22), 503, "ioctl failed" },
        { new UnauthorizedAccessException("Access to the path '/sys/fs/cgroup/cpu/workspaces' is denied."), 503, "it needs root" },
        { new IOException("Read-only file system : '/proc/sys/net/ipv4/ip_forward'", 30), 503, "the file system is read-only" },
        { new IOException("No space left on device", 28), 507, "is full" },
        { new Microsoft.AspNetCore.Http.BadHttpRequestException("Unexpected end of request content.", 400), 400, "malformed request" },
        { UploadBody.Truncated(new IOException("connection reset")), 400, "the upload ended early (truncated)" },
        { new InvalidOperationException("a defect"), 500, "internal error: a defect" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Each_failure_type_has_its_status_and_says_what_to_do(Exception failure, int status, string says)
    {
        var problem = Problems.From(failure, Path.GetTempPath());
        Assert.Equal(status, problem.Status);
        Assert.Contains(says, problem.Detail);
    }
}
