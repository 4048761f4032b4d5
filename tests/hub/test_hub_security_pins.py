"""Security M6 and the PIN rules of H2, through a real hub.

M6, the attack: the PIN-must-be-unique 409 told an outlet manager which PINs were in use (18
probes in 2.5 s), e.g. the PIN of an area manager who works at every outlet, their own
included. Now a scoped manager cannot choose a PIN at all (the hub draws one and shows it
once), so a PIN in use and a free one get the same answer; head office, who may set anyone's
PIN anyway, gets 409s that are audited and limited per user.
"""

from __future__ import annotations

import pytest

from hub.staff import PIN_CONFLICTS_PER_HOUR
from tests.hub.conftest import TenantCtx

pytestmark = pytest.mark.postgres


def _staff(client, **fields):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/staff", json={"name": "Probe", "role": "cashier", **fields})


def test_a_scoped_manager_learns_nothing_about_pins_in_use(tenant_factory) -> None:
    t: TenantCtx = tenant_factory()
    north = t.create_outlet("North")
    assert _staff(t.client, name="Area Manager", role="manager", pin="735102",
                  all_outlets=True).status_code == 201
    _, manager = t.create_user("outlet_manager", [north["id"]])

    # 18 probes, the PIN in use among them: every answer is the same refusal
    answers = set()
    for pin in ["735102", *(f"{735110 + n}" for n in range(17))]:
        probe = _staff(manager, pin=pin, outlet_ids=[north["id"]])
        answers.add((probe.status_code, probe.text))
    assert len(answers) == 1 and next(iter(answers))[0] == 403
    own = _staff(manager, outlet_ids=[north["id"]])
    assert own.status_code == 201, own.text
    drawn = own.json()["generated_pin"]
    assert drawn.isdigit() and len(drawn) == 6 and drawn != "735102"
    assert manager.get(f"/api/v1/staff/{own.json()['id']}").json().get("generated_pin") is None
    for body in ({"pin": "735102"}, {"pin": "735111"}):  # nor by changing their own staff's PIN
        assert manager.patch(f"/api/v1/staff/{own.json()['id']}", json=body).status_code == 403
    # the audit log shows what happened, and never a PIN
    audit = t.client.get("/api/v1/audit", params={"entity_id": own.json()["id"]}).json()["items"]
    assert audit[0]["after"]["pin"] == "generated" and drawn not in str(audit)


def test_head_office_pin_conflicts_are_audited_and_limited(tenant_factory) -> None:
    t: TenantCtx = tenant_factory()
    outlet = t.create_outlet("Only")
    taken = []
    for n in range(PIN_CONFLICTS_PER_HOUR):
        pin = f"{810000 + n}"
        assert _staff(t.client, name=f"Holder {n}", pin=pin, all_outlets=True).status_code == 201
        taken.append(pin)
    _, hq = t.create_user("hq_admin")
    for pin in taken:
        clash = _staff(hq, pin=pin, outlet_ids=[outlet["id"]])
        assert clash.status_code == 409 and clash.json()["error"]["details"] == {"field": "pin"}
    # past the budget even a free PIN is refused for a while; a drawn one still works
    limited = _staff(hq, pin="909090", outlet_ids=[outlet["id"]])
    assert limited.status_code == 429, limited.text
    assert _staff(hq, outlet_ids=[outlet["id"]]).status_code == 429
    assert _staff(t.client, pin="909090", outlet_ids=[outlet["id"]]).status_code == 201  # others unaffected
    audit = t.client.get("/api/v1/audit", params={"entity_type": "staff"}).json()["items"]
    conflicts = [e for e in audit if e["action"] == "staff.pin_conflict"]
    assert len(conflicts) == PIN_CONFLICTS_PER_HOUR
    assert all(e["actor_email"] for e in conflicts) and not any(p in str(conflicts) for p in taken)


def test_a_manager_pin_has_six_digits(tenant_factory) -> None:
    t: TenantCtx = tenant_factory()
    outlet = t.create_outlet("Only")
    for pin in ("2468", "24680"):
        short = _staff(t.client, role="manager", pin=pin, all_outlets=True)
        assert short.status_code == 400 and "6" in short.json()["error"]["message"]
    cashier = _staff(t.client, pin="2468", outlet_ids=[outlet["id"]]).json()
    promoted = t.client.patch(f"/api/v1/staff/{cashier['id']}", json={"role": "manager"})
    assert promoted.status_code == 400  # keeping a 4-digit PIN
    drawn = _staff(t.client, role="manager", all_outlets=True).json()["generated_pin"]
    assert len(drawn) == 6
