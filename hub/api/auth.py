"""Login, token refresh, logout and "who am I" for head-office users."""

from __future__ import annotations

from litestar import get, post
from litestar.params import JSONBody

from hub import identity
from hub.api.deps import ClientIpDep, DbDep, PrincipalDep, SettingsDep, TokensDep
from hub.identity import TokenPair
from hub.schemas import LoginRequest, MeOut, RefreshRequest

__all__ = ["auth_routes"]


@post("/api/v1/auth/login", status_code=200, tags=["auth"])
async def login(data: JSONBody[LoginRequest], db: DbDep, settings: SettingsDep, tokens: TokensDep,
                client_ip: ClientIpDep) -> TokenPair:
    """Email + password -> access token (short) and refresh token (single use)."""
    return await identity.login(db, settings, tokens, data.email, data.password, client_ip,
                                tenant_id=data.tenant_id)


@post("/api/v1/auth/refresh", status_code=200, tags=["auth"])
async def refresh(data: JSONBody[RefreshRequest], db: DbDep, tokens: TokensDep) -> TokenPair:
    """Trade a refresh token for a new pair; reusing an old one revokes the whole login."""
    return await identity.refresh(db, tokens, data.refresh_token)


@post("/api/v1/auth/logout", status_code=204, tags=["auth"])
async def logout(data: JSONBody[RefreshRequest], db: DbDep) -> None:
    """Revoke the login the refresh token belongs to and end the user's access tokens."""
    await identity.logout(db, data.refresh_token)


@get("/api/v1/me", tags=["auth"])
async def me(principal: PrincipalDep, db: DbDep) -> MeOut:
    await db.check_caller()  # type: ignore[attr-defined]  # no tenant session below
    return MeOut(user_id=principal.user_id, tenant_id=principal.tenant_id, email=principal.email,
                 role=principal.role,
                 outlet_ids=list(principal.outlet_ids) if principal.outlet_ids is not None else None)


auth_routes = [login, refresh, logout, me]
