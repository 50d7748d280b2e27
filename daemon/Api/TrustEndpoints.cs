using Workspaces.Client;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Api;

public static class TrustEndpoints
{
    public static void MapTrustEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/trust", (TrustPolicy trust) =>
            Results.Json(trust.Signers().Select(ToInfo).ToArray(), WorkspacesJson.Default.TrustedSignerInfoArray))
            .WithSummary("the trusted signers").Produces<TrustedSignerInfo[]>();

        v1.MapPost("/trust", async (HttpContext context, TrustPolicy trust) =>
        {
            context.RequireAdmin("change the trust store");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.AddTrustRequest);
            return Results.Json(ToInfo(trust.Add(request.Name ?? "", request.PublicKey ?? "")), WorkspacesJson.Default.TrustedSignerInfo, statusCode: 201);
        }).WithSummary("trust a signer's public key (admins)").Body<AddTrustRequest>().Produces<TrustedSignerInfo>(201);

        v1.MapDelete("/trust/{name}", (HttpContext context, string name, TrustPolicy trust) =>
        {
            context.RequireAdmin("change the trust store");
            trust.Remove(name);
            return Results.NoContent();
        }).WithSummary("stop trusting a signer (admins)").Produces(204);
    }

    private static TrustedSignerInfo ToInfo(TrustedSignerRow s) => new(
        s.Name, s.PublicKey, KeyText.Fingerprint(s.PublicKey), s.AddedAt == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(s.AddedAt));
}
