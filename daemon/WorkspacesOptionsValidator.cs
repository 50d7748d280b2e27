using Microsoft.Extensions.Options;

namespace Workspaces.Daemon;

/// <summary>
/// The configuration checked before the daemon starts and before a reload is taken: a bad value is
/// a one-line error naming it, not a failure later in some request. Source-generated (no reflection
/// under Native AOT) from the attributes on WorkspacesOptions and PolicyOptions.
/// </summary>
[OptionsValidator]
public sealed partial class WorkspacesOptionsValidator : IValidateOptions<WorkspacesOptions>;
