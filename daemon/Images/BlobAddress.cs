using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Images;

/// <summary>
/// A blob's address: 64 lowercase hex digits. Addresses become file names in the cache, so one that
/// came from a peer or a caller is checked before it names a file (no "../", no second spelling).
/// </summary>
public static class BlobAddress
{
    public static bool IsValid(string? sha256) => sha256 is { Length: 64 } && sha256.All(char.IsAsciiHexDigitLower);

    public static string Check(string? sha256) =>
        IsValid(sha256) ? sha256! : throw WorkspacesException.BadRequest($"{Names.Quote(sha256)} is not a blob's SHA-256 (64 lowercase hex digits)");
}
