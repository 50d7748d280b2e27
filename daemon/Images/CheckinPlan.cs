using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Images;

/// <summary>
/// What a checkin will register: the image, its disk (the workspace's overlay itself when Adopted,
/// else a staged copy), and the signatures and sealed keys that go with it.
/// </summary>
public sealed record CheckinPlan(ImageRow Image, StagedBlob Disk, bool Adopted, IReadOnlyList<SignatureRow> Signatures, IReadOnlyList<ImageKeyRow> SealedKeys);
