using System.Text.RegularExpressions;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Guests;

/// <summary>
/// Names and sizes of secrets (ws create --secret NAME=@FILE). A name becomes a file name in the
/// guest (/etc/workspaces/secrets/NAME), so it is a plain word: no slash, no leading dot.
/// </summary>
public static partial class SecretName
{
    public const int MaxCount = 16;
    public const int MaxBytes = 64 << 10;

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\z")]
    private static partial Regex Pattern();

    public static void Check(string name)
    {
        if (!Pattern().IsMatch(name))
            throw WorkspacesException.BadRequest(
                $"'{(name.Length > 64 ? name[..64] + "…" : name)}' is not a secret name: 1-64 letters, digits, '_', '.' or '-', beginning with a letter or digit");
    }

    /// <summary>The secrets of a create request: names checked, values decoded from base64 and bounded.</summary>
    public static IReadOnlyDictionary<string, byte[]> Decode(IReadOnlyDictionary<string, string>? secrets)
    {
        var decoded = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (secrets is null) return decoded;
        if (secrets.Count > MaxCount) throw WorkspacesException.BadRequest($"a workspace takes at most {MaxCount} secrets, not {secrets.Count}");
        foreach (var (name, value) in secrets)
        {
            Check(name);
            byte[] bytes;
            try { bytes = Convert.FromBase64String(value ?? ""); }
            catch (FormatException) { throw WorkspacesException.BadRequest($"secret '{name}': its value must be base64"); }
            if (bytes.Length > MaxBytes) throw WorkspacesException.BadRequest($"secret '{name}' is larger than {MaxBytes >> 10} KiB");
            decoded[name] = bytes;
        }
        return decoded;
    }
}
