namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// Reads QEMU's help listings. `-cpu help` lines are "x86 NAME  (description)"; `-machine help` lines are
/// "NAME  description" after a header line ending in ':'. Only the name is taken; headers and blank lines are not.
/// </summary>
public static class QemuHelp
{
    public static IEnumerable<string> FirstWords(string listing, string? prefix)
    {
        foreach (var line in listing.Split('\n'))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (prefix is not null)
            {
                if (words.Length >= 2 && words[0] == prefix) yield return words[1];
            }
            else if (words.Length >= 1 && !line.StartsWith(' ') && !line.TrimEnd().EndsWith(':'))
                yield return words[0];
        }
    }
}
