"""The hub's side of the payment gateways (Midtrans, Xendit): issue 11.

* ``vault``: sealing the gateways' secrets under a key derived from the hub's key;
* ``credentials``: gateway credentials per outlet or per brand (head office API);
* ``webhooks``: the gateways' notifications, verified, stored once, filed under an outlet;
* ``feed``: what an outlet's box pulls: its gateway settings ("payments") and the recent
  confirmations of its charges ("confirmations");
* ``payments``: the synced payment attempts, the payments report and the reconciliation of
  what the gateways confirmed against what the outlets recorded;
* ``models``: their tables.

Arrows point one way: ``hub.api.gateways`` and ``hub.ingest`` -> ``feed`` / ``webhooks`` /
``payments`` -> ``credentials`` -> ``vault``, ``models``.
"""
