"""Who is calling the edge, and what they may do.

Two kinds of bearer token reach the edge:
* a device token (opaque, ``dev_...``) given when a kiosk, cashier tablet or KDS is paired;
* a staff JWT, issued when staff log in with their PIN on a paired device; it names the staff
  member, their role and the device.

Permissions are checked with ``require(principal, "perm")`` inside route guards; the table
below is the whole RBAC policy of the edge.
"""

from __future__ import annotations

from msgspec import Struct

from shared.errors import Forbidden

__all__ = ["PERMISSIONS", "Principal", "allowed", "require"]


class Principal(Struct, kw_only=True, frozen=True):
    device_id: str
    device_role: str  # kiosk | cashier | kds | board | admin (the CLI/local admin)
    device_name: str = ""
    staff_id: str | None = None
    staff_role: str | None = None  # cashier | kitchen | manager
    staff_name: str = ""

    @property
    def roles(self) -> frozenset[str]:
        found = {f"device:{self.device_role}"}
        if self.staff_role:
            found.add(f"staff:{self.staff_role}")
        return frozenset(found)


# permission -> roles that hold it
PERMISSIONS: dict[str, frozenset[str]] = {
    "menu:read": frozenset({"device:kiosk", "device:cashier", "device:kds", "device:admin"}),
    "orders:create": frozenset({"device:kiosk", "device:cashier", "staff:cashier", "staff:manager"}),
    "orders:read": frozenset({"device:kiosk", "device:cashier", "device:kds", "device:board",
                              "staff:cashier", "staff:manager", "staff:kitchen"}),
    "orders:discount": frozenset({"staff:manager"}),
    "orders:advance": frozenset({"staff:cashier", "staff:manager", "staff:kitchen"}),
    "orders:void": frozenset({"staff:cashier", "staff:manager"}),  # unpaid orders
    "orders:void_paid": frozenset({"staff:manager"}),
    # discounts at the till and refunds: staff ask, a manager approves (edge.api.orders)
    "orders:adjust": frozenset({"staff:cashier", "staff:manager"}),
    "orders:refund": frozenset({"staff:cashier", "staff:manager"}),
    "payments:take": frozenset({"staff:cashier", "staff:manager"}),
    "kitchen:read": frozenset({"device:kds", "device:cashier", "staff:kitchen", "staff:manager"}),
    "kitchen:bump": frozenset({"device:kds", "staff:kitchen", "staff:manager"}),
    "shifts:manage": frozenset({"staff:cashier", "staff:manager"}),
    "shifts:report": frozenset({"staff:cashier", "staff:manager"}),
    "availability:set": frozenset({"staff:cashier", "staff:kitchen", "staff:manager"}),
    # Staff log in only on staff-facing devices: a kiosk or order board stands in front of
    # customers, and its token (in its URL) must not be a way to try PINs.
    "staff:login": frozenset({"device:cashier", "device:kds"}),
    "sync:read": frozenset({"device:cashier", "staff:manager", "device:admin"}),
    "printers:manage": frozenset({"staff:manager", "device:admin"}),
    # what guests ask for from the table's QR page (edge.guest): waiters see and answer it
    "guests:read": frozenset({"device:cashier", "staff:cashier", "staff:manager"}),
    "guests:manage": frozenset({"staff:cashier", "staff:manager"}),
    # table service (edge.bills): seat a party, add rounds, fire courses, change held lines
    "bills:amend": frozenset({"device:cashier", "staff:cashier", "staff:manager"}),
}


def allowed(principal: Principal, permission: str) -> bool:
    holders = PERMISSIONS.get(permission)
    if holders is None:
        raise KeyError(f"unknown permission {permission!r}")
    return bool(principal.roles & holders)


def require(principal: Principal, permission: str) -> None:
    """Raise Forbidden unless the principal holds ``permission``."""
    if not allowed(principal, permission):
        raise Forbidden(f"{permission} is not allowed for {', '.join(sorted(principal.roles))}",
                        details={"permission": permission})
