"""``python -m edge.payments configure ...``: set the outlet's payment gateway on the box,
until head office sends it down the pull feed (kind "payments", which then wins).

    python -m edge.payments configure --data-dir /var/lib/fnbpos/edge --provider xendit \\
        --api-base-url https://api.xendit.co --qr-expiry-seconds 300 \\
        --static-qris "$(cat static-qris.txt)" --ewallet-channels dana,shopeepay
    python -m edge.payments show --data-dir ...

The secret key is read from the environment variable POS_PAYMENTS_SERVER_KEY (a command
line is visible to every user of the machine); ``--server-key`` exists for tests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from edge.db import Database
from edge.payments import config as gateway_config
from edge.settings import DB_NAME

KEY_ENV = "POS_PAYMENTS_SERVER_KEY"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge.payments")
    sub = parser.add_subparsers(dest="command", required=True)
    conf = sub.add_parser("configure", help="set the payment gateway of this box")
    show = sub.add_parser("show", help="print the payment settings (without the secret key)")
    for p in (conf, show):
        p.add_argument("--data-dir", required=True)
    conf.add_argument("--provider", choices=["none", "midtrans", "xendit"], required=True)
    conf.add_argument("--api-base-url", default="")
    conf.add_argument("--server-key", default=None, help=f"default: ${KEY_ENV}")
    conf.add_argument("--qr-expiry-seconds", type=int, default=300)
    conf.add_argument("--static-qris", default="", help="the merchant's static QRIS payload")
    conf.add_argument("--ewallet-channels", default="", help="e.g. gopay,dana,shopeepay")
    args = parser.parse_args(argv)
    path = Path(args.data_dir) / DB_NAME
    if not path.exists():
        print(f"error: no edge database in {args.data_dir}; run `pos-edge init` first", file=sys.stderr)
        return 2
    db = Database(path)
    try:
        if args.command == "show":
            print(json.dumps(gateway_config.public(db.read_now(gateway_config.load)), indent=2))
            return 0
        key = args.server_key if args.server_key is not None else os.environ.get(KEY_ENV, "")
        channels = [c.strip() for c in args.ewallet_channels.split(",") if c.strip()]
        config = gateway_config.GatewayConfig(
            provider=args.provider, api_base_url=args.api_base_url, server_key=key,
            qr_expiry_seconds=args.qr_expiry_seconds, static_qris=args.static_qris.strip(),
            ewallet_channels=channels, source="local")
        try:
            db.write_blocking(lambda conn: gateway_config.save(conn, config, datetime.now(UTC)))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(gateway_config.public(config), indent=2))
        return 0
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
