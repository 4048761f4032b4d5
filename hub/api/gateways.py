"""Payment gateways over HTTP: credentials (head office), the gateways' webhooks, the payments
report and its reconciliation. Each handler parses, calls ``hub.gateways``, returns."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from hub.api.deps import ClientIpDep, DbDep, PrincipalDep
from hub.gateways import credentials, payments, webhooks
from hub.gateways.vault import CredentialVault
from hub.ratelimit import RateLimiter
from shared.errors import TooManyRequests

__all__ = ["gateway_routes"]


def _vault(request: Request[Any, Any, Any]) -> CredentialVault:
    vault: CredentialVault = request.app.state.gateway_vault
    return vault


def _limit(request: Request[Any, Any, Any], client_ip: str) -> None:
    """Webhooks need no login: bounded per client IP before any work (hub.ratelimit)."""
    state = request.app.state
    limiter = getattr(state, "webhook_limiter", None)
    if limiter is None:
        settings = state.settings
        limiter = state.webhook_limiter = RateLimiter(settings.webhook_max_per_ip,
                                                      settings.webhook_window_seconds)
    wait = limiter.hit(client_ip)
    if wait:
        raise TooManyRequests("too many notifications from this address; try again later",
                              details={"retry_after_seconds": wait})


# ---------------------------------------------------------------- credentials


@put("/api/v1/outlets/{outlet_id:str}/payment-gateway", tags=["payments"], status_code=200)
async def put_outlet_gateway(request: Request[Any, Any, Any], outlet_id: FromPath[str],
                             data: JSONBody[credentials.CredentialSet], db: DbDep,
                             principal: PrincipalDep) -> credentials.CredentialOut:
    """Set the outlet's own gateway credential (secrets are never returned)."""
    async with db.tenant(principal.tenant_id) as session:
        row = await credentials.put_outlet_credential(session, _vault(request), principal,
                                                      outlet_id, data)
        return credentials.to_out(row)


@get("/api/v1/outlets/{outlet_id:str}/payment-gateway", tags=["payments"])
async def get_outlet_gateway(outlet_id: FromPath[str], db: DbDep,
                             principal: PrincipalDep) -> credentials.OutletCredentialsOut:
    """The outlet's credential and its brand's, redacted, and which one applies."""
    async with db.tenant(principal.tenant_id) as session:
        return await credentials.get_outlet_credentials(session, principal, outlet_id)


@put("/api/v1/brands/{brand_id:str}/payment-gateway", tags=["payments"], status_code=200)
async def put_brand_gateway(request: Request[Any, Any, Any], brand_id: FromPath[str],
                            data: JSONBody[credentials.CredentialSet], db: DbDep,
                            principal: PrincipalDep) -> credentials.CredentialOut:
    """Set the brand's gateway credential (used by its outlets without their own)."""
    async with db.tenant(principal.tenant_id) as session:
        row = await credentials.put_brand_credential(session, _vault(request), principal,
                                                     brand_id, data)
        return credentials.to_out(row)


@get("/api/v1/brands/{brand_id:str}/payment-gateway", tags=["payments"])
async def get_brand_gateway(brand_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    async with db.tenant(principal.tenant_id) as session:
        return await credentials.get_brand_credential(session, principal, brand_id)


# ---------------------------------------------------------------- webhooks


@post("/api/v1/gateways/midtrans/notification", tags=["payments"], status_code=200,
      request_max_body_size=webhooks.MAX_WEBHOOK_BYTES)
async def midtrans_notification(request: Request[Any, Any, Any], db: DbDep,
                                client_ip: ClientIpDep) -> dict[str, str]:
    """Midtrans HTTP notification: signature_key verified against the outlet's server key."""
    _limit(request, client_ip)
    result = await webhooks.midtrans_notification(db, _vault(request), await request.json(),
                                                  client_ip)
    return result.body()


@post("/api/v1/gateways/xendit/callback", tags=["payments"], status_code=200,
      request_max_body_size=webhooks.MAX_WEBHOOK_BYTES)
async def xendit_callback(request: Request[Any, Any, Any], db: DbDep,
                          client_ip: ClientIpDep) -> dict[str, str]:
    """Xendit callback: x-callback-token verified against the stored callback tokens."""
    _limit(request, client_ip)
    token = request.headers.get("x-callback-token", "")
    result = await webhooks.xendit_callback(db, _vault(request), await request.json(), token,
                                            client_ip)
    return result.body()


# ---------------------------------------------------------------- report, reconciliation


@get("/api/v1/reports/payments", tags=["reports"])
async def payments_report(
    db: DbDep, principal: PrincipalDep,
    day_from: Annotated[str | None, QueryParameter(name="from", max_length=10,
                                                   description="first UTC day, YYYY-MM-DD")] = None,
    day_to: Annotated[str | None, QueryParameter(
        name="to", max_length=10, description="last UTC day (inclusive), YYYY-MM-DD")] = None,
    outlet_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
) -> dict[str, Any]:
    """Payment attempts, success rate, pending, expired and refunds, by method and gateway."""
    async with db.tenant(principal.tenant_id) as session:  # the token is checked first
        start, end = payments.parse_period(day_from, day_to)
        return await payments.payments_report(session, principal, start, end, outlet_id or None)


@get("/api/v1/reports/payments/reconciliation", tags=["reports"])
async def reconciliation(
    request: Request[Any, Any, Any], db: DbDep, principal: PrincipalDep,
    day: Annotated[str | None, QueryParameter(max_length=10,
                                              description="the UTC day, YYYY-MM-DD")] = None,
    outlet_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
) -> dict[str, Any]:
    """What the gateways confirmed against what the outlets recorded that day, run now (the
    gateways' own records are read first: hub.gateways.statements)."""
    return await payments.reconcile_on_demand(db, principal, day, outlet_id or None,
                                              vault=_vault(request))


gateway_routes: list[Any] = [put_outlet_gateway, get_outlet_gateway, put_brand_gateway,
                             get_brand_gateway, midtrans_notification, xendit_callback,
                             payments_report, reconciliation]
