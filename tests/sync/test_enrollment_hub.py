"""Enrollment codes and redemption at a real hub: single use, expiry, lost replies, roles, tenants."""

from __future__ import annotations

import uuid

import pytest

from sync.client import HubRefused
from tests.sync.conftest import enroll, issue_code, pg_query, run_hub_cli

pytestmark = pytest.mark.postgres


def test_code_is_single_use_but_the_same_box_can_complete_a_lost_redemption(hub_server, tenant,
                                                                             outlet_factory):
    outlet = outlet_factory(tenant)
    issued = issue_code(tenant, outlet["id"])
    assert issued.status_code == 201
    code = issued.json()["code"]
    assert len(code) == 19 and code.count("-") == 3
    box_key = "dk_" + uuid.uuid4().hex
    first = enroll(hub_server.base_url, code, box_key)
    # The reply was lost on the way: the same box asks again and gets a working credential.
    second = enroll(hub_server.base_url, code.lower().replace("-", " "), box_key)
    assert second.outlet_id == first.outlet_id == outlet["id"]
    assert second.credential != first.credential
    revoked = pg_query(hub_server.db_url, "SELECT count(*) FROM sync_credentials WHERE outlet_id = %s"
                       " AND revoked_at IS NOT NULL", outlet["id"])
    assert revoked == [(1,)]  # the credential nobody saw is revoked
    # Another box with the same code is refused.
    with pytest.raises(HubRefused) as used:
        enroll(hub_server.base_url, code)
    assert (used.value.status, used.value.code) == (409, "code_used")


def test_wrong_and_expired_codes_are_refused(hub_server, tenant, outlet_factory):
    outlet = outlet_factory(tenant)
    with pytest.raises(HubRefused) as wrong:
        enroll(hub_server.base_url, "AAAA-BBBB-CCCC-DDDD")
    assert (wrong.value.status, wrong.value.code) == (404, "invalid_code")
    code = issue_code(tenant, outlet["id"], ttl_minutes=1).json()
    pg_query(hub_server.db_url, "UPDATE enrollment_codes SET expires_at = now() - interval '1 second'"
             " WHERE id = %s RETURNING id", code["id"])
    with pytest.raises(HubRefused) as expired:
        enroll(hub_server.base_url, code["code"])
    assert (expired.value.status, expired.value.code) == (410, "code_expired")
    assert pg_query(hub_server.db_url, "SELECT count(*) FROM sync_credentials WHERE outlet_id = %s",
                    outlet["id"]) == [(0,)]


def test_who_may_create_codes(hub_server, tenant, other_tenant, outlet_factory):
    outlet = outlet_factory(tenant)
    elsewhere = outlet_factory(tenant)
    for role in ("technician", "hq_admin"):
        _, client = tenant.create_user(role, outlet_ids=[outlet["id"]] if role != "hq_admin" else [])
        assert issue_code(tenant, outlet["id"], client=client).status_code == 201, role
        if role != "hq_admin":  # scoped roles only for their own outlets
            assert issue_code(tenant, elsewhere["id"], client=client).status_code == 403
    # enrollment:manage (hub.identity.PERMISSIONS): not outlet or area managers
    for role in ("area_manager", "outlet_manager"):
        _, manager = tenant.create_user(role, outlet_ids=[outlet["id"]])
        assert issue_code(tenant, outlet["id"], client=manager).status_code == 403, role
    # another tenant cannot even see the outlet
    assert issue_code(other_tenant, outlet["id"]).status_code == 404
    bad = issue_code(tenant, outlet["id"], ttl_minutes=10**6)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_failed"


def test_cli_prints_the_code_as_its_last_line(hub_server, tenant, outlet_factory):
    outlet = outlet_factory(tenant)
    result = run_hub_cli("enrollment-code", "--outlet", outlet["id"], db_url=hub_server.db_url)
    code = result.stdout.strip().splitlines()[-1]
    identity = enroll(hub_server.base_url, code)
    assert identity.outlet_id == outlet["id"] and identity.tenant_id == tenant.id
    missing = run_hub_cli("enrollment-code", "--outlet", "no-such-outlet", db_url=hub_server.db_url,
                          check=False)
    assert missing.returncode == 1 and "outlet not found" in missing.stderr
