using Workspaces.Client;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// Orders the hosts judged for one placement (VMPlant's image proximity): first those whose admission
/// would take the shape, then by the bytes of the image's chain they hold already (the less to move,
/// the sooner it boots), then by free capacity. Hosts that did not answer come last, unscored.
/// </summary>
public static class PlacementRanking
{
    /// <summary>One host's answers: its admission's judgement and the chain bytes it holds, or why it could not be asked.</summary>
    public sealed record Judged(string Host, bool Local, PeerAdmissionAnswer? Admission, long HeldBytes, string? Unreachable, double Milliseconds);

    /// <summary>
    /// 1000 if admission accepts, + up to 900 for the share of the chain held, + up to 99 for the share of
    /// memory free. The weights keep the criteria in order: a host that admits always outscores one that
    /// does not, and holding more of the chain beats having more room, to 1/900 of the chain.
    /// </summary>
    public static int Score(PeerAdmissionAnswer admission, long held, long chainBytes)
    {
        int proximity = chainBytes > 0 ? (int)(900 * Math.Clamp(held, 0, chainBytes) / chainBytes) : 900;
        int room = admission.CapacityMemoryMiB > 0 ? (int)(99L * Math.Clamp(admission.FreeMemoryMiB, 0, admission.CapacityMemoryMiB) / admission.CapacityMemoryMiB) : 0;
        return (admission.Accepts ? 1000 : 0) + proximity + room;
    }

    public static PlacementCandidate[] Rank(IEnumerable<Judged> hosts, long chainBytes)
    {
        var ordered = hosts
            .Select(h => (Judged: h, Score: h.Admission is { } a ? Score(a, h.HeldBytes, chainBytes) : (int?)null))
            .OrderBy(x => x.Score is null)
            .ThenByDescending(x => x.Score ?? 0)
            .ThenByDescending(x => x.Judged.HeldBytes)
            .ThenByDescending(x => x.Judged.Admission?.FreeMemoryMiB ?? 0)
            .ThenByDescending(x => x.Judged.Admission?.FreeVcpus ?? 0)
            .ThenBy(x => !x.Judged.Local) // a tie goes to this host: nothing crosses the network
            .ThenBy(x => x.Judged.Host, StringComparer.Ordinal)
            .ToList();
        return ordered.Select((x, i) =>
        {
            var (h, score) = x;
            var a = h.Admission;
            return new PlacementCandidate(i + 1, h.Host, h.Local, a is not null, a?.Accepts ?? false, score, h.HeldBytes, chainBytes,
                a?.FreeVcpus, a?.FreeMemoryMiB, Reason(h, chainBytes), a?.Offer, Math.Round(h.Milliseconds, 1));
        }).ToArray();
    }

    private static string Reason(Judged h, long chainBytes)
    {
        if (h.Admission is not { } a) return $"unreachable: {h.Unreachable}";
        string holds = Holds(h.HeldBytes, chainBytes);
        return a.Accepts ? holds : $"admission refuses: {a.Refusal}; {holds}";
    }

    private static string Holds(long held, long chain) => held switch
    {
        _ when held >= chain => "holds 100% of the chain",
        0 => $"holds none of the chain ({Size(chain)} to fetch)",
        // Floor, so that a host missing a byte never reads "100%".
        _ => $"holds {Math.Min(99, 100 * held / chain)}% of the chain ({Size(chain - held)} to fetch)",
    };

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} B",
    };
}
