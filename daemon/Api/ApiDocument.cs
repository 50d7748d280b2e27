using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Workspaces.Client;

namespace Workspaces.Daemon.Api;

/// <summary>
/// The OpenAPI document of /v1. It is generated from the endpoints at build time (the build runs this
/// program under Microsoft.Extensions.ApiDescription.Server's GetDocument.Insider, under the JIT),
/// checked against daemon/Api/openapi.json and embedded; the Native AOT daemon serves those bytes as
/// they are and never builds the document itself.
/// </summary>
public static class ApiDocument
{
    private const string Resource = "Workspaces.Daemon.Api.openapi.json";
    private static readonly Lazy<byte[]> Bytes = new(Load);

    private const string GeneratorSwitch = "Workspaces.Daemon.ApiDocument.Generator";

    /// <summary>
    /// False in the published (Native AOT) daemon, a constant there: the trimmer drops the generator and
    /// Microsoft.AspNetCore.OpenApi with it (workspacesd.csproj sets the switch for publish only).
    /// </summary>
    [FeatureSwitchDefinition(GeneratorSwitch)]
    public static bool GeneratorIncluded => !AppContext.TryGetSwitch(GeneratorSwitch, out bool included) || included;

    /// <summary>True in the build's document generator: the app is built and its endpoints read, nothing is served.</summary>
    public static bool IsBeingGenerated => GeneratorIncluded && Assembly.GetEntryAssembly()?.GetName().Name == "GetDocument.Insider";

    /// <summary>Only for the generator: describes the endpoints (title, version, problem+json for every error).</summary>
    public static void AddForGeneration(IServiceCollection services)
    {
        // The contract's source-generated JSON: the schemas are those the wire uses (and reflection is off, as under AOT).
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, WorkspacesJson.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(1, ApiParameterJson.Default);
        });
        services.AddOpenApi("v1", openApi =>
        {
            openApi.AddDocumentTransformer(async (document, context, ct) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Workspaces",
                    Version = "v1",
                    Description = "workspacesd's local API: REST and JSON on a Unix socket (/run/workspaces/workspaces.sock). "
                        + "The caller is identified by SO_PEERCRED. Long actions answer 202 with an operation. "
                        + "Errors are RFC 9457 application/problem+json.",
                };
                document.Servers = [];
                // The resources the operations were tagged with (by the operation transformer, which runs first).
                document.Tags = document.Paths.Values
                    .SelectMany(path => path.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
                    .SelectMany(operation => operation.Tags ?? new HashSet<OpenApiTagReference>())
                    .Select(tag => tag.Name).OfType<string>().Distinct().Order(StringComparer.Ordinal)
                    .Select(name => new OpenApiTag { Name = name }).ToHashSet();
                var problem = await context.GetOrCreateSchemaAsync(typeof(Problem), cancellationToken: ct);
                document.AddComponent("Problem", problem);
            });
            // Every route answers its errors the same way (ProblemMiddleware): say it once per operation.
            // Operations are tagged by resource, the path's segment after /v1 (openapi.json: openapi).
            openApi.AddOperationTransformer(async (operation, context, ct) =>
            {
                string resource = Path.GetFileNameWithoutExtension((context.Description.RelativePath ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) ?? "v1");
                operation.Tags = new HashSet<OpenApiTagReference> { new(resource, context.Document) };
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<JsonBody>().LastOrDefault() is { } body)
                {
                    var schema = await context.GetOrCreateSchemaAsync(body.Type, cancellationToken: ct);
                    context.Document!.AddComponent(body.Type.Name, schema);
                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = new Dictionary<string, OpenApiMediaType>
                        {
                            ["application/json"] = new() { Schema = new OpenApiSchemaReference(body.Type.Name, context.Document) },
                        },
                    };
                }
                operation.Responses ??= [];
                operation.Responses["default"] = new OpenApiResponse
                {
                    Description = "an error: status, title and a message a person can act on",
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference("Problem", context.Document) },
                    },
                };
            });
        });
    }

    /// <summary>
    /// Documents the JSON body a handler reads itself (ReadJsonAsync). Not Accepts&lt;T&gt;(): that is a routing
    /// constraint too, and would send a request with another content type to the fallback's 404 instead of
    /// the handler's 415 (and an image upload, multipart, nowhere).
    /// </summary>
    public static RouteHandlerBuilder Body<T>(this RouteHandlerBuilder route) => route.WithMetadata(new JsonBody(typeof(T)));

    /// <summary>GET /v1/openapi.json: the embedded document, as built.</summary>
    public static void MapApiDocument(this RouteGroupBuilder v1)
    {
        v1.MapGet("/openapi.json", () => Results.Bytes(Bytes.Value, "application/json"))
            .WithSummary("this document: the OpenAPI description of /v1, generated from the endpoints at build time")
            .Produces(200, contentType: "application/json");
    }

    private static byte[] Load()
    {
        using var stream = typeof(ApiDocument).Assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"the build embedded no {Resource}");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}

/// <summary>Endpoint metadata: the JSON request body's type, for the document only.</summary>
public sealed record JsonBody(Type Type);

/// <summary>The types of route and query parameters, for their schemas (the contract's context holds the bodies).</summary>
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(bool?))]
[JsonSerializable(typeof(double?))]
internal sealed partial class ApiParameterJson : JsonSerializerContext;
