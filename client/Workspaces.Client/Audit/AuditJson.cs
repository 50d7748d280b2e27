using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workspaces.Client.Audit;

/// <summary>
/// The audit log's own serializer: compact, members in declaration order, nulls left out, so a record is
/// one stable line. The daemon writes with it, the verifier and `ws audit` read with it.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    WriteIndented = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuditRecord))]
[JsonSerializable(typeof(AuditRecord[]))]
[JsonSerializable(typeof(AuditVerification))]
public sealed partial class AuditJson : JsonSerializerContext;
