namespace Workspaces.Cli.Commands;

/// <summary>The files ws create|launch hands to a guest: user-data, ssh keys, secrets (NAME=@FILE), read and bounded before they are sent.</summary>
public static class GuestFiles
{
    private const long MaxFile = 64 << 10; // the daemon's bound too (UserData.MaxBytes, SecretName.MaxBytes)

    public static async Task<string> ReadTextAsync(string path, string option, CancellationToken ct)
    {
        Check(path, option);
        return await File.ReadAllTextAsync(path, ct);
    }

    /// <summary>NAME=@FILE each; the values go as base64 (a secret may be binary).</summary>
    public static async Task<Dictionary<string, string>> SecretsAsync(IEnumerable<string> specs, CancellationToken ct)
    {
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            int at = spec.IndexOf("=@", StringComparison.Ordinal);
            if (at <= 0) throw new ArgumentException($"--secret takes NAME=@FILE, not '{spec}'");
            string name = spec[..at], path = spec[(at + 2)..];
            if (!secrets.TryAdd(name, "")) throw new ArgumentException($"--secret {name} is given twice");
            Check(path, $"--secret {name}");
            secrets[name] = Convert.ToBase64String(await File.ReadAllBytesAsync(path, ct));
        }
        return secrets;
    }

    private static void Check(string path, string option)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new ArgumentException($"{option}: no file {path}");
        if (info.Length > MaxFile) throw new ArgumentException($"{option}: {path} is larger than {MaxFile >> 10} KiB");
    }
}
