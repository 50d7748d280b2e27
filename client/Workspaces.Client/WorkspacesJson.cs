using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workspaces.Client;

/// <summary>Source-generated JSON for the whole contract (the CLI is Native AOT, so no reflection).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    WriteIndented = false,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(HostInfo))]
[JsonSerializable(typeof(ImageInfo))]
[JsonSerializable(typeof(ImageInfo[]))]
[JsonSerializable(typeof(CreateWorkspaceRequest))]
[JsonSerializable(typeof(WorkspaceInfo))]
[JsonSerializable(typeof(WorkspaceInfo[]))]
[JsonSerializable(typeof(GuestStatus))]
[JsonSerializable(typeof(OperationInfo))]
[JsonSerializable(typeof(OperationInfo[]))]
[JsonSerializable(typeof(EventInfo))]
[JsonSerializable(typeof(Problem))]
[JsonSerializable(typeof(WorkspaceShape))]
[JsonSerializable(typeof(SetResourcesRequest))]
[JsonSerializable(typeof(ImageManifestInfo))]
[JsonSerializable(typeof(LocalImportRequest))]
[JsonSerializable(typeof(SignImageRequest))]
[JsonSerializable(typeof(SignatureInfo))]
[JsonSerializable(typeof(VerifyReport))]
[JsonSerializable(typeof(VerifyReport[]))]
[JsonSerializable(typeof(CheckinRequest))]
[JsonSerializable(typeof(FlattenRequest))]
[JsonSerializable(typeof(CopyWorkspaceRequest))]
[JsonSerializable(typeof(ResealRequest))]
[JsonSerializable(typeof(ResealResult))]
[JsonSerializable(typeof(PruneResult))]
[JsonSerializable(typeof(TrustedSignerInfo))]
[JsonSerializable(typeof(TrustedSignerInfo[]))]
[JsonSerializable(typeof(AddTrustRequest))]
[JsonSerializable(typeof(CreateNetworkRequest))]
[JsonSerializable(typeof(NetworkInfo))]
[JsonSerializable(typeof(NetworkInfo[]))]
[JsonSerializable(typeof(ExposeRequest))]
[JsonSerializable(typeof(PeerInfo))]
[JsonSerializable(typeof(PeerInfo[]))]
[JsonSerializable(typeof(CreatePeerTokenRequest))]
[JsonSerializable(typeof(PeerTokenInfo))]
[JsonSerializable(typeof(AddPeerRequest))]
[JsonSerializable(typeof(PeerJoinRequest))]
[JsonSerializable(typeof(PeerHostSummary))]
[JsonSerializable(typeof(PieceListInfo))]
[JsonSerializable(typeof(PullImageRequest))]
[JsonSerializable(typeof(PeerImageEntry[]))]
[JsonSerializable(typeof(TransferInfo))]
public sealed partial class WorkspacesJson : JsonSerializerContext;
