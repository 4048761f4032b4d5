"""The sales statement in the report roll-ups (issue 13): each stored day cell also keeps the
money of its sales as an accountant adds it up (gross sales, discounts, service charge, tax,
rounding, paid, overpaid) over every sale, and the same figures (with the total) over the
sales not fully paid, so a report can show open and paid-in-full sales apart.

Existing cells are brought up to date here rather than left to the roll-up job: the new
figures of every cell stored in roll-up format 4 are summed from the orders it was built
from, one UPDATE ... FROM per tenant (PostgreSQL, and SQLite 3.33+), and the cell becomes
format 5. A cell whose orders changed since it was stored keeps its old fingerprint and is
recomputed as before; a cell of an older format stays outdated and is rebuilt by the job.
On PostgreSQL every tenant table is under FORCE'd Row-Level Security, which binds the owner
running this too: the tenants are listed with ``tenants`` briefly not FORCE'd (inside this
transaction, so no other session ever sees it so), and each tenant's statements run with
``app.tenant_id`` set to it. Only the days of format-4 cells are read from ``orders``.

Revision ID: 0440_sales_statement
Revises: 0430_table_service
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0440_sales_statement'
down_revision = '0430_table_service'
branch_labels = None
depends_on = None

# Kept as literals: a migration must not change when the models or hub.reports change later.
_FORMAT_BEFORE, _FORMAT_AFTER = 4, 5
_ALL_OUTLETS = "*"
_SALE = "status NOT IN ('voided', 'cancelled', 'split', 'merged')"
_OPEN = "paid < total"
_APPLIED = "CASE WHEN paid > total THEN total ELSE paid END"
_SUMS = {
    "sales_gross": "SUM(subtotal)",
    "sales_discount": "SUM(discount)",
    "sales_service": "SUM(service_charge)",
    "sales_tax": "SUM(tax)",
    "sales_rounding": "SUM(rounding)",
    "sales_paid": f"SUM({_APPLIED})",
    "sales_overpaid": "SUM(CASE WHEN paid > total THEN paid - total ELSE 0 END)",
    **{f"open_{name}": f"SUM(CASE WHEN {_OPEN} THEN {column} ELSE 0 END)"
       for name, column in (("gross", "subtotal"), ("discount", "discount"),
                            ("service", "service_charge"), ("tax", "tax"),
                            ("rounding", "rounding"), ("total", "total"), ("paid", "paid"))},
}
COLUMNS = list(_SUMS)


def _backfill_sql(tenant_wide: bool) -> sa.TextClause:
    outlet = f"'{_ALL_OUTLETS}'" if tenant_wide else "outlet_id"
    group = "business_day" if tenant_wide else "outlet_id, business_day"
    sums = ", ".join(f"{expr} AS {name}" for name, expr in _SUMS.items())
    assignments = ", ".join(f"{name} = s.{name}" for name in COLUMNS)
    match = ("report_daily.outlet_id = :all_outlets" if tenant_wide
             else "report_daily.outlet_id = s.outlet_id")
    return sa.text(
        f"UPDATE report_daily SET {assignments}, format = :after "
        f"FROM (SELECT {outlet} AS outlet_id, business_day, {sums} FROM orders "
        f"WHERE tenant_id = :tenant AND {_SALE} AND business_day IN ("
        f"SELECT business_day FROM report_daily WHERE tenant_id = :tenant "
        f"AND format = :before) GROUP BY {group}) AS s "
        f"WHERE report_daily.tenant_id = :tenant AND {match} "
        f"AND report_daily.business_day = s.business_day AND report_daily.format = :before")


def upgrade() -> None:
    with op.batch_alter_table('report_daily', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.BigInteger(), nullable=False,
                                          server_default='0'))
    with op.batch_alter_table('report_daily', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.alter_column(name, server_default=None)
    backfill(op.get_bind())


def backfill(bind: sa.Connection) -> None:
    """Fill in the statement of every format-4 cell from its orders and make it format 5
    (tests/hub/test_reports.py runs this on both databases, as the owner under RLS)."""
    postgres = bind.dialect.name == "postgresql"
    params = {"before": _FORMAT_BEFORE, "after": _FORMAT_AFTER, "all_outlets": _ALL_OUTLETS}
    if postgres:  # the owner sees every tenant only while the table does not FORCE RLS
        bind.execute(sa.text("ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY"))
    tenants = [row[0] for row in bind.execute(sa.text("SELECT id FROM tenants ORDER BY id"))]
    if postgres:
        bind.execute(sa.text("ALTER TABLE tenants FORCE ROW LEVEL SECURITY"))
    for tenant in tenants:
        if postgres:
            bind.execute(sa.text("SELECT set_config('app.tenant_id', :tenant, true)"),
                         {"tenant": tenant})
        for tenant_wide in (False, True):
            bind.execute(_backfill_sql(tenant_wide), {**params, "tenant": tenant})
        # Cells with no sales at all (every order voided): their figures are the zeros.
        bind.execute(sa.text("UPDATE report_daily SET format = :after "
                             "WHERE tenant_id = :tenant AND format = :before"),
                     {**params, "tenant": tenant})
    if postgres and tenants:
        bind.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))


def downgrade() -> None:
    # Cells stored with the statement are format 5: the older code rebuilds them.
    with op.batch_alter_table('report_daily', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
