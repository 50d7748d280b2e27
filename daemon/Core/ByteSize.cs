using System.Globalization;
using System.Text.RegularExpressions;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Core;

/// <summary>
/// Sizes as people and qemu-img write them: a whole number of bytes, or with a binary suffix
/// K, M, G or T (KiB, MiB, ... and KB, MB, ... mean the same: powers of 1024, as qemu-img reads them).
/// </summary>
public static partial class ByteSize
{
    [GeneratedRegex(@"\A(?<n>[0-9]{1,15})((?<unit>[KMGT])(i?B)?|B)?\z", RegexOptions.IgnoreCase)]
    private static partial Regex Pattern();

    /// <summary>The size in bytes, or a 400 naming what is accepted.</summary>
    public static long Parse(string? text, string what)
    {
        var m = Pattern().Match(text ?? "");
        if (!m.Success)
            throw WorkspacesException.BadRequest($"invalid {what} {Names.Quote(text)}: give bytes, or a number with K, M, G or T (e.g. 10G)");
        long n = long.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
        int shift = char.ToUpperInvariant(m.Groups["unit"].Value.FirstOrDefault('B')) switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 };
        if (n > long.MaxValue >> shift) throw WorkspacesException.BadRequest($"{what} {Names.Quote(text)} is too large");
        return n << shift;
    }

    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 40 when bytes % (1L << 40) == 0 => $"{bytes >> 40}T",
        >= 1L << 30 when bytes % (1L << 30) == 0 => $"{bytes >> 30}G",
        >= 1L << 20 when bytes % (1L << 20) == 0 => $"{bytes >> 20}M",
        >= 1L << 10 when bytes % (1L << 10) == 0 => $"{bytes >> 10}K",
        _ => $"{bytes}",
    };
}
