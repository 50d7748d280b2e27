using Microsoft.Extensions.Options;
using Workspaces.Daemon.Processes;

namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// The CPU models and machine types this host's QEMU can give, asked once (`-cpu help`, `-machine help`)
/// and cached: a create names a model from here, and a migration ticket whose model or machine is not here
/// is refused before anything moves. OfferedCpuModels in the config replaces QEMU's model list.
/// </summary>
public sealed class CpuCatalog(IOptions<WorkspacesOptions> options, CommandRunner runner)
{
    private readonly Lazy<CpuOffer> _offer = new(() => Task.Run(() => AskAsync(options.Value, runner)).GetAwaiter().GetResult());

    public CpuOffer Offer => _offer.Value;

    /// <summary>Null when a workspace may be created with this model; otherwise why not.</summary>
    public string? CreateRefusal(string model) =>
        model == CpuModels.HostPassthrough || Offer.Models.Contains(model) ? null
            : $"this host cannot give CPU model '{model}' (it gives: {string.Join(", ", Offer.Models)}, or 'host' to opt out of moves)";

    /// <summary>Null when this host can give a moved workspace this model and machine; otherwise why not, for the refusal.</summary>
    public string? MoveRefusal(string model, string machine)
    {
        if (model == CpuModels.HostPassthrough)
            return "the workspace uses the host's own CPU (cpu model 'host'), which is not migratable: it opted out of moves";
        if (!Offer.Models.Contains(model))
            return $"this host cannot give CPU model '{model}' (it gives: {string.Join(", ", Offer.Models)})";
        if (!Offer.Machines.Contains(machine))
            return $"this host cannot give machine type '{machine}' (it gives: {string.Join(", ", Offer.Machines)})";
        return null;
    }

    private static async Task<CpuOffer> AskAsync(WorkspacesOptions o, CommandRunner runner)
    {
        var machines = await runner.RunAsync(o.QemuBinary, ["-machine", "help"], CancellationToken.None);
        if (!machines.Succeeded) throw new HypervisorException($"`{o.QemuBinary} -machine help` failed: {machines.LastErrorLine}");
        string[] models = o.OfferedCpuModels ?? await ModelsAsync(o, runner);
        return new CpuOffer(models.Where(m => m != CpuModels.HostPassthrough).ToHashSet(StringComparer.Ordinal),
            QemuHelp.FirstWords(machines.Stdout, prefix: null).ToHashSet(StringComparer.Ordinal));
    }

    private static async Task<string[]> ModelsAsync(WorkspacesOptions o, CommandRunner runner)
    {
        // -machine none: listing models needs no board, and does not depend on the default one.
        var cpus = await runner.RunAsync(o.QemuBinary, ["-machine", "none", "-cpu", "help"], CancellationToken.None);
        if (!cpus.Succeeded) throw new HypervisorException($"`{o.QemuBinary} -cpu help` failed: {cpus.LastErrorLine}");
        return QemuHelp.FirstWords(cpus.Stdout, prefix: "x86").ToArray();
    }
}
