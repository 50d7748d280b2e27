namespace Workspaces.Daemon.Api;

/// <summary>
/// `workspacesd --routes`: every route the daemon answers, "METHOD /pattern" one a line, read from the
/// endpoint data source (as `rails routes` does). Tests hold it against the OpenAPI document.
/// </summary>
public static class RouteTable
{
    public const string Flag = "--routes";

    public static IEnumerable<string> Lines(IEndpointRouteBuilder app) =>
        app.DataSources.SelectMany(source => source.Endpoints).OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => $"{m} {e.RoutePattern.RawText}"))
            .Order(StringComparer.Ordinal);
}
