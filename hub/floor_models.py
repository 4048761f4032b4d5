"""Hub table of the outlets' floor plans (on the hub's metadata, ``hub.models.Base``).

``floor_plans``: one row per outlet that has a plan. ``plan`` holds the whole
``shared.schemas.FloorPlan`` as JSON (areas, tables with their guest tokens, table-service
settings) exactly as the outlet's box receives it in its "floor" feed kind; ``version`` is the
plan's version (every save or token rotation adds one, ``hub.floor``). ``guest_base_url`` is
where the outlet's guest page is reached on the shop's network (the sticker QR codes point
there); it stays at head office and is not part of the plan sent to the box.

Tenant-owned and under Row-Level Security on PostgreSQL (migration 0420).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.models import Base, JsonType, TenantOwned, UTCDateTime, utcnow

__all__ = ["FLOOR_TENANT_TABLES", "FloorPlanRow"]

FLOOR_TENANT_TABLES = ("floor_plans",)


class FloorPlanRow(TenantOwned, Base):
    __tablename__ = "floor_plans"
    outlet_id: Mapped[str] = mapped_column(String(64), ForeignKey("outlets.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    plan: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    guest_base_url: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")
