"""Sales reports from the orders the outlets synced, and the daily roll-up that keeps them
fast.

What a sales report counts (all money in integer minor units):

* **Sales** are orders whose status is not ``voided``/``cancelled`` (open orders included).
  ``order_count`` counts them, ``gross_total`` sums their ``total`` (after discount, service,
  tax and rounding), ``average_order_value`` is ``gross_total // order_count`` (floor).
* **The sales statement** (``sales``, and its two parts ``settled`` and ``open``; per outlet
  and per day ``statement``) adds up the money of the sales from the figures each order
  synced (``shared.pricing``; the hub checks them at ingest, ``check_money``):

  - *gross sales*: sum of ``subtotal``, the line totals at menu prices (voided lines left out);
  - *discounts*: sum of ``discount`` (order and line discounts);
  - *tax and service in menu prices* (``included_tax_service``): for outlets whose prices
    include tax, the service charge and tax inside them; 0 where prices exclude tax;
  - *net sales*: ``total - rounding - service_charge - tax`` per order, the sales before
    service charge and tax; so gross - discounts - included = net;
  - *service charge*, *tax*, *cash rounding* (``rounding``, + or -): as the orders carry them;
  - *total*: sum of ``total`` = net + service + tax + rounding (= ``gross_total``);
  - *paid*: each order's ``paid`` up to its ``total``; *outstanding*: total - paid;
    *overpaid*: what orders were paid beyond their total (a gateway's late payment, flagged
    for refund at the till), not in paid; paid + overpaid = the payments of sales by method.

  ``settled`` holds the sales paid in full (``paid >= total``, whatever the kitchen's state;
  ``orders`` = ``payment_success.paid_orders``), ``open`` those whose payments fall short
  (``outstanding`` is all theirs); ``settled + open = sales`` figure by figure. Refunds done
  after hand-over are not taken off these figures (see *Refunds by method*).
* **Voids** are voided/cancelled orders (count, sum of their totals). **Refunds** are the voids
  of orders that had been paid (count, sum of what had been paid): the edge records no
  separate refund, money goes back by voiding a paid order.
* **Payment success rate**: the edge records only successful payments, so it is
  ``paid orders / (paid orders + orders voided without any payment)``, where a paid order is a
  sale whose payments cover its total. ``null`` when both are zero.
* **By hour** uses the order's ``created_at`` in the outlet's own timezone (DST-exact: the UTC
  offset is resolved per interval between timezone transitions). Days use ``business_day``.
* **By product**: quantity and revenue (``line_total``, before order-level discount, service
  and tax) of the lines of sales, per product id (named by the alphabetically last name its
  lines carry, should it have been renamed during the period).
* **By payment method**: the payments of sales (count, amount).
* **Refunds by method**: refunds done after hand-over (``refunds``, synced as RefundEvent),
  count and amount per method the money went back by (cash, card, qris, ewallet), on the
  business day of the order they refund; pending and failed gateway refunds are left out.
  (``refunds`` above stays the voids of paid orders.)
* **Discounts by reason**: sales with a discount, per ``discount_reason`` (orders, sum of
  ``discount``, line discounts included).
* **Kitchen preparation time** per ticket of the period's orders: first ``created`` → last
  ``bumped``, counted only when the ticket is done (its last bump is after any recall/undo),
  in whole seconds (timestamps truncated to the second). p50/p90 are nearest-rank percentiles.
  A ticket whose bump is stamped before its creation (the box's clock stepped back) counts
  as done in 0 seconds, so the ticket count still equals the edge's.

How it stays exact and fast: every figure is a sum or a histogram, so the figures of
(outlet, business day) cells can be merged. The modules:

* ``cells``: a day cell and how the cells of a period are computed live from the raw rows;
* ``rollups``: the daily roll-up job that stores past days' cells (``report_daily``,
  ``report_daily_items`` in ``hub.models``) and the fingerprints that tell a stored cell is
  still current, so a report always equals the raw data;
* ``sales``: the report itself, answered as ``hub.schemas.SalesReport``;
* ``fast``: the same report on PostgreSQL's fast read path (what ``GET
  /api/v1/reports/sales`` runs there): one statement has PostgreSQL apply the roll-up rules
  and sum the stored cells, the live cells come from ``cells``' statements on the same kept
  connection; equal to ``sales`` figure for figure (tests/hub/test_report_read_path.py).

No PostgreSQL-only SQL but in ``fast``: the other statements run on SQLite too.
"""

from __future__ import annotations

from hub.reports.cells import VOID_STATUSES, CellKey, DayCell, compute_cells, utc_offset_segments
from hub.reports.rollups import refresh_rollups, rollup_job
from hub.reports.sales import MAX_REPORT_DAYS, parse_period, sales_report, visible_outlet_ids

__all__ = [
    "MAX_REPORT_DAYS",
    "VOID_STATUSES",
    "CellKey",
    "DayCell",
    "compute_cells",
    "parse_period",
    "refresh_rollups",
    "rollup_job",
    "sales_report",
    "utc_offset_segments",
    "visible_outlet_ids",
]
