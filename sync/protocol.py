"""The sync wire protocol: message types, framing, compression and version negotiation.

Every sync body (request and successful response) is one *frame*:

    b"FPS" | version (1 byte) | compression (1 byte: 0 = none, 1 = zlib) | msgpack payload

The frame header says how to read the payload, so a proxy that strips or rewrites HTTP headers
cannot make a body unreadable. Frames are written compressed: zlib's adler-32 makes a body
damaged or cut short on the way fail to decode (``FrameError``, answered 400
``corrupt_frame`` and simply retried) instead of reaching the journal checks, where altered
bytes would look like tampering. Errors are not frames: they use the JSON error shape of every
app (``{"error": {"code", "message", "details"}}``) so a human with curl can read them.

Versions: ``WIRE_VERSION`` is what this code writes; the hub also accepts every version in
``ACCEPTED_VERSIONS`` (the previous one at least). Evolution follows msgspec's rules: new
fields get defaults, nothing is renamed or retyped, so a version-1 payload decodes into the
version-2 Structs with the new fields at their defaults (tests/sync/fixtures holds saved v1
payloads and a test decodes them).

Version history:
  1  PushRequest(outlet_id, epoch, entries); PushResponse(status, epoch, acked_seq, ...)
  2  PushRequest gains ``backlog``, ``sent_at`` and ``edge_version``; PushResponse gains
     ``held_seq``, ``hub_time`` and ``quarantined``; pull/enrollment unchanged.
  2+ (same frame version, negotiated) the pull feed carries more kinds than the catalog:
     an edge that sends ``kinds=catalog,staff,settings`` on the pull gets PullChanges of
     kind "staff" (``staff``: StaffSnapshot) and "settings" (``settings``: OutletSettings),
     a cursor that is a feed position instead of a catalog version, and ``checksums`` /
     ``versions`` per kind. An edge that sends no ``kinds`` gets exactly the v2 catalog feed,
     so older edges never see a kind they cannot decode (docs/sync-protocol.md).
  2+ (negotiated the same way) kinds "payments" (``payments``: PaymentSettings, the outlet's
     gateway and its secret key) and "confirmations" (``confirmations``: the outlet's
     gateway confirmations of the last 48 hours) for edges that name them in ``kinds``.
  2+ (negotiated the same way) kind "floor" (``floor``: FloorPlan, the outlet's areas, tables
     with their guest tokens and table-service settings; ``version`` is the plan's version,
     ``checksum`` its ``floor_checksum``) for edges that name it in ``kinds``.
"""

from __future__ import annotations

import re
import zlib
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from shared.schemas import NUL_IN_FIELD, Catalog, FloorPlan, JournalEntry

__all__ = [
    "ACCEPTED_VERSIONS",
    "FEED_KINDS",
    "MAX_CONFIRMATIONS",
    "MAX_PAYLOAD_BYTES",
    "MAX_PUSH_ENTRIES",
    "MEDIA_TYPE",
    "PUSH_MAX_BYTES",
    "REDEEM_MAX_BYTES",
    "WIRE_VERSION",
    "EnrollRequest",
    "EnrollResponse",
    "FrameError",
    "FrameInvalid",
    "FrameTooLarge",
    "GatewayConfirmation",
    "OutletSettings",
    "PaymentSettings",
    "PullChange",
    "PullResponse",
    "PushRequest",
    "PushResponse",
    "StaffRecord",
    "StaffSnapshot",
    "catalog_checksum",
    "confirmations_checksum",
    "decode_frame",
    "encode_frame",
    "floor_checksum",
    "frame_version",
    "payments_checksum",
    "settings_checksum",
    "staff_checksum",
]

WIRE_VERSION = 2
ACCEPTED_VERSIONS = frozenset({1, 2})
MEDIA_TYPE = "application/x-fnbpos-sync"
_MAGIC = b"FPS"
_NONE, _ZLIB = 0, 1

T = TypeVar("T")


# Size limits, each applied twice by the reader: to the body on the wire (the hub refuses a
# longer body before reading it) and to the payload once inflated (inflating stops there).
REDEEM_MAX_BYTES = 4 * 1024  # an EnrollRequest is a few hundred bytes
PUSH_MAX_BYTES = 8 * 1024 * 1024  # "the push body limit" (docs/sync-protocol.md)
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024  # what the edge reads from the hub (pull pages, replies)
MAX_PUSH_ENTRIES = 10_000  # with event bodies capped by the edge, a batch stays under PUSH_MAX_BYTES

# Every text field on the wire is bounded and free of NUL (PostgreSQL text cannot hold it).
_NO_NUL = r"^[^\x00]*\Z"
WireId = Annotated[str, Meta(max_length=64, pattern=_NO_NUL)]
WireText = Annotated[str, Meta(max_length=200, pattern=_NO_NUL)]
Digest = Annotated[str, Meta(max_length=128, pattern=_NO_NUL)]  # sha256 hex (64) with room
WireVersion = Annotated[int, Meta(ge=0, le=255)]
Count = Annotated[int, Meta(ge=0, le=2**53)]


class FrameError(ValueError):
    """A body that is not a readable sync frame (bad magic, version, compression or payload)."""


class FrameTooLarge(FrameError):
    """The payload inflates past the limit of the route that received it."""


class FrameInvalid(FrameError):
    """The frame is intact but its message breaks the protocol's rules (a field too long, of
    the wrong type, holding a NUL): the sender must change it, resending cannot help."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# ---------------------------------------------------------------- push (edge -> hub)


class PushRequest(Struct, kw_only=True):
    outlet_id: WireId
    epoch: WireId
    entries: Annotated[list[JournalEntry], Meta(max_length=MAX_PUSH_ENTRIES)]
    version: WireVersion = WIRE_VERSION
    # v2 fields (defaults keep v1 payloads decodable)
    # events the edge still holds unacknowledged, including this batch (bounded, not
    # checked for sign: informative only, and an edge must never be refused over it)
    backlog: Annotated[int, Meta(ge=-(2**53), le=2**53)] = 0
    sent_at: datetime | None = None  # edge clock; informative only, never used for ordering
    edge_version: WireText = ""
    # Sent while the edge's previous batch is still in flight: if the hub does not hold
    # the events before this batch yet, it waits briefly for them instead of answering
    # "resend" at once (hubs that predate the field ignore it and answer "resend").
    pipelined: bool = False


PushStatus = Literal["ok", "resend"]


class PushResponse(Struct, kw_only=True):
    """``acked_seq`` is the highest seq of ``epoch`` the hub durably holds *contiguously*.

    ``status == "resend"`` means the batch did not start where the hub's stream ends: resend
    from ``resend_from``. Anything the edge held up to ``acked_seq`` may be marked acked.
    """

    status: PushStatus
    epoch: WireId
    acked_seq: Count
    version: WireVersion = WIRE_VERSION
    resend_from: Count | None = None
    applied: Count = 0  # events applied by this request
    duplicates: Count = 0  # events already held (same hash) and skipped
    # v2 fields
    held_seq: Count = 0  # the highest seq of ``epoch`` the hub holds (restore detection)
    # seqs held but not applied (see the hub's fleet view)
    quarantined: Annotated[list[int], Meta(max_length=MAX_PUSH_ENTRIES)] = []
    hub_time: datetime | None = None


# ---------------------------------------------------------------- pull (hub -> edge)


PullKind = Literal["catalog", "staff", "settings", "payments", "confirmations", "floor"]
# What a current edge asks for (``kinds`` on the pull); without it the hub sends the catalog only.
FEED_KINDS: tuple[str, ...] = ("catalog", "staff", "settings", "payments", "confirmations",
                               "floor")
MAX_CONFIRMATIONS = 5000  # one outlet's gateway confirmations of 48 hours, newest kept


class StaffRecord(Struct, kw_only=True):
    """One hub-managed staff member working at the outlet (active ones only).

    The PIN never leaves the hub. ``pin_verifier`` is argon2id(PIN) under the snapshot's
    ``pin_salt`` (this outlet's own) and ``pin_kdf`` (shared.pins): the edge derives it once
    from a typed PIN and finds the row by it. ``pin_hash`` and ``pin_lookup`` are kept for the
    decoders of older edges: the hub sends "" and a placeholder no PIN matches (``none:<id>``);
    such an edge cannot log hub staff in until it is upgraded.
    """

    id: WireId
    name: WireText
    role: Annotated[str, Meta(max_length=16)]  # cashier | kitchen | manager (edge.devices.STAFF_ROLES)
    pin_hash: Annotated[str, Meta(max_length=200)]
    pin_lookup: Annotated[str, Meta(max_length=128)]
    pin_verifier: Annotated[str, Meta(max_length=128)] = ""  # 64 hex; "" from a hub before H2


class StaffSnapshot(Struct, kw_only=True):
    """Every hub-managed staff member of one outlet who has a PIN verifier there, with the
    salt and cost of those verifiers. Nothing tenant-wide: a snapshot is only good at its
    outlet."""

    pin_pepper: Annotated[str, Meta(max_length=128)] = ""  # no longer sent (was tenant-wide)
    staff: Annotated[list[StaffRecord], Meta(max_length=10_000)] = []
    pin_salt: Annotated[str, Meta(max_length=64)] = ""  # hex, this outlet's own
    pin_kdf: Annotated[str, Meta(max_length=64)] = ""  # e.g. argon2id$v=19$m=65536,t=3,p=1


class OutletSettings(Struct, kw_only=True):
    """The outlet settings head office decides. Tax and currency are not here: they travel
    inside the catalog (``Catalog.tax``). ``None`` leaves the edge's own value alone."""

    name: WireText
    timezone: Annotated[str, Meta(max_length=64, pattern=_NO_NUL)]
    kitchen_trigger: Annotated[str, Meta(max_length=16)] | None = None  # "place" | "payment"
    business_day_start_hour: Annotated[int, Meta(ge=0, le=23)] | None = None
    # discounts at the till: the reasons staff pick from ([] = any reason) and the percentage
    # of the subtotal above which a manager approves (None: every discount needs a manager)
    discount_reasons: Annotated[list[Annotated[str, Meta(min_length=1, max_length=100,
                                                         pattern=_NO_NUL)]],
                                Meta(max_length=50)] = []
    discount_approval_percent: Annotated[int, Meta(ge=0, le=100)] | None = None


class PaymentSettings(Struct, kw_only=True):
    """The outlet's payment gateway as head office set it (hub: ``hub.gateways``). The secret
    key is sent to this outlet's box only, over its authenticated feed: the box calls the
    gateway itself. ``provider`` "none" = no gateway (static QRIS and cash/card only)."""

    provider: Annotated[str, Meta(max_length=16, pattern=_NO_NUL)] = "none"
    api_base_url: WireText = ""
    server_key: Annotated[str, Meta(max_length=200, pattern=_NO_NUL)] = ""
    qr_expiry_seconds: Annotated[int, Meta(ge=1, le=86_400)] = 300
    static_qris: Annotated[str, Meta(max_length=512, pattern=_NO_NUL)] = ""
    ewallet_channels: Annotated[list[Annotated[str, Meta(max_length=16)]], Meta(max_length=8)] = []


class GatewayConfirmation(Struct, kw_only=True):
    """A gateway's verified word on one charge of the outlet (a webhook the hub received).
    The edge applies it by ``gateway_order_id`` (its attempt id), idempotently, and records a
    payment only when ``gross_amount`` is the attempt's amount."""

    gateway: Annotated[str, Meta(max_length=16)]  # midtrans | xendit
    gateway_order_id: WireId
    transaction_id: Annotated[str, Meta(max_length=100, pattern=_NO_NUL)] = ""
    status: Annotated[str, Meta(max_length=16)]  # paid | expired | cancelled | failed | refunded
    gross_amount: Count
    payment_type: Annotated[str, Meta(max_length=40, pattern=_NO_NUL)] = ""
    received_at: datetime


class PullChange(Struct, kw_only=True):
    """One change in the outlet's feed: a full snapshot of ``kind`` at ``version``."""

    cursor: Count
    kind: PullKind
    version: Count
    checksum: Digest  # sha256 of the snapshot's canonical JSON (catalog/staff/settings_checksum)
    catalog: Catalog | None = None
    # fields added with the staff/settings kinds (only sent to edges that ask for them)
    staff: StaffSnapshot | None = None
    settings: OutletSettings | None = None
    # fields added with the payments/confirmations kinds (only to edges that ask for them)
    payments: PaymentSettings | None = None
    confirmations: Annotated[list[GatewayConfirmation], Meta(max_length=MAX_CONFIRMATIONS)] | None = None
    # added with table service (only to edges that ask for it)
    floor: FloorPlan | None = None


class PullResponse(Struct, kw_only=True):
    cursor: Count  # the cursor to send next time (the last change's cursor, or the one sent)
    changes: Annotated[list[PullChange], Meta(max_length=1000)] = []
    more: bool = False  # another page is waiting
    snapshot_required: bool = False  # the cursor is older than the hub keeps: resync
    catalog_version: Count = 0  # the outlet's current catalog version at the hub
    catalog_checksum: Digest = ""  # its checksum, to verify the edge's copy
    version: WireVersion = WIRE_VERSION
    hub_time: datetime | None = None
    # per kind (multi-kind feed only): the hub's current version and checksum, so the edge
    # can verify its copies even when nothing changed
    versions: Annotated[dict[str, int], Meta(max_length=32)] = {}
    checksums: Annotated[dict[str, str], Meta(max_length=32)] = {}


# ---------------------------------------------------------------- enrollment


class EnrollRequest(Struct, kw_only=True, forbid_unknown_fields=False):
    # The unauthenticated message: every field is short (the whole frame is read only up to
    # REDEEM_MAX_BYTES). Codes are shown as XXXX-XXXX-XXXX-XXXX; spaces and dashes allowed.
    code: Annotated[str, Meta(min_length=1, max_length=64, pattern=_NO_NUL)]
    # A random key the box minted before redeeming and keeps until provisioning completes:
    # if the reply is lost, redeeming the same code with the same key completes again.
    device_key: Annotated[str, Meta(min_length=1, max_length=128, pattern=_NO_NUL)]
    hostname: Annotated[str, Meta(max_length=253, pattern=_NO_NUL)] = ""
    edge_version: WireText = ""
    version: WireVersion = WIRE_VERSION
    # A new box taking over the outlet of a dead one (`pos-edge provision --takeover`): the
    # outlet's other credentials are revoked when the code is redeemed.
    replace: bool = False
    # The outlet the box expects (its backup's): the hub refuses a code for another outlet
    # before redeeming it, so a mix-up never revokes the wrong outlet's box.
    outlet_id: WireId = ""


class EnrollResponse(Struct, kw_only=True):
    tenant_id: WireId
    outlet_id: WireId
    outlet_name: WireText
    timezone: Annotated[str, Meta(max_length=64, pattern=_NO_NUL)]
    credential_id: WireId
    credential: Annotated[str, Meta(max_length=256)]  # the secret: shown once, kept 0600 by the edge
    hub_time: datetime
    currency: Annotated[str, Meta(max_length=8)] = "IDR"
    version: WireVersion = WIRE_VERSION
    # Highest journal seq the hub holds of this outlet, any epoch: a box taking over starts
    # its journal above it, so none of its numbers can collide with the old box's.
    journal_seq: Count = 0
    revoked: Count = 0  # credentials of the outlet revoked by a `replace` redemption
    # A `replace` redemption only: the highest queue number the hub holds of the outlet's
    # current business day (YYYY-MM-DD, the outlet's clock), so the box taking over numbers
    # that day's orders above every number the old box called. 0 and "" otherwise.
    last_order_number: Count = 0
    business_day: Annotated[str, Meta(max_length=10, pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = ""


# ---------------------------------------------------------------- framing

_encoder = msgspec.msgpack.Encoder()
_decoders: dict[type, msgspec.msgpack.Decoder[Any]] = {}


def _decoder(kind: type[T]) -> msgspec.msgpack.Decoder[T]:
    found = _decoders.get(kind)
    if found is None:
        found = _decoders[kind] = msgspec.msgpack.Decoder(kind)
    return found


def encode_frame(message: Struct, version: int = WIRE_VERSION, compress: bool | None = None) -> bytes:
    """Serialize ``message`` as a frame; compress bodies above a few hundred bytes."""
    payload = _encoder.encode(message)
    if compress is None:
        compress = True  # integrity (adler-32) as much as size; see the module docstring
    if compress:
        return _MAGIC + bytes((version, _ZLIB)) + zlib.compress(payload, 1)  # 2.2x faster than level 6, 11% larger
    return _MAGIC + bytes((version, _NONE)) + payload


def frame_version(frame: bytes) -> int:
    if len(frame) < 5 or frame[:3] != _MAGIC:
        raise FrameError("not a sync frame (bad magic)")
    return frame[3]


def decode_frame(frame: bytes, kind: type[T], max_size: int = MAX_PAYLOAD_BYTES) -> T:
    """Read a frame into ``kind``; raise FrameError for anything malformed or unsupported.

    ``max_size`` bounds the payload: an uncompressed one longer than that, or a compressed one
    that inflates past it, is ``FrameTooLarge`` after at most ``max_size + 1`` bytes of work
    (inflating is streamed and stops there, so a small "zip bomb" costs the reader nothing).
    Bytes after the end of the compressed stream are refused: a frame is exactly one stream.
    """
    version = frame_version(frame)
    if version not in ACCEPTED_VERSIONS:
        raise FrameError(f"unsupported wire version {version}; accepted: {sorted(ACCEPTED_VERSIONS)}")
    compression = frame[4]
    payload = frame[5:]
    if compression == _ZLIB:
        payload = _inflate(payload, max_size)
    elif compression != _NONE:
        raise FrameError(f"unknown compression {compression}")
    elif len(payload) > max_size:
        raise FrameTooLarge(f"payload larger than {max_size} bytes")
    try:
        return _decoder(kind).decode(payload)
    except msgspec.ValidationError as exc:
        raise _invalid(kind, str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise FrameError(f"undecodable {kind.__name__}: {exc}") from exc


def _inflate(data: bytes, max_size: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        # max_length stops the output (and the work) one byte past the limit; anything left
        # stays in unconsumed_tail, never inflated.
        payload = inflater.decompress(data, max_size + 1)
    except zlib.error as exc:
        raise FrameError(f"corrupt compressed payload: {exc}") from exc
    if len(payload) > max_size:
        raise FrameTooLarge(f"payload inflates past {max_size} bytes")
    if not inflater.eof:
        raise FrameError("compressed payload is cut short")
    if inflater.unused_data:
        raise FrameError(f"{len(inflater.unused_data)} bytes after the end of the compressed payload")
    return payload


_AT = re.compile(r" - at `\$\.?(.*)`$")


def _invalid(kind: type, message: str) -> FrameInvalid:
    """msgspec's "Expected ... - at `$.entries[3].epoch`" as a message naming the field."""
    found = _AT.search(message)
    field = found.group(1) if found else ""
    problem = message[: found.start()] if found else message
    if "matching regex" in problem and "x00" in problem:
        problem = "text contains a NUL character"
    elif problem.startswith(NUL_IN_FIELD):  # a journal entry's own check names its field
        field = f"{field}.{problem.removeprefix(NUL_IN_FIELD)}" if field else field
        problem = "text contains a NUL character"
    return FrameInvalid(f"invalid {kind.__name__}: {problem}" + (f" (field {field})" if field else ""),
                        field)


def catalog_checksum(catalog: Catalog) -> str:
    """sha256 of the catalog's canonical JSON: lists sorted by id, keys sorted. Hub and edge
    compare it; list order is presentation (``sort`` fields), not content."""
    import hashlib

    canonical = msgspec.structs.replace(
        catalog,
        categories=sorted(catalog.categories, key=lambda c: c.id),
        products=sorted(catalog.products, key=lambda p: p.id),
        modifier_groups=sorted((msgspec.structs.replace(g, options=sorted(g.options, key=lambda o: o.id))
                                for g in catalog.modifier_groups), key=lambda g: g.id),
    )
    return hashlib.sha256(msgspec.json.encode(canonical, order="sorted")).hexdigest()


def staff_checksum(snapshot: StaffSnapshot) -> str:
    """sha256 of the staff snapshot's canonical JSON (staff sorted by id, keys sorted)."""
    import hashlib

    canonical = msgspec.structs.replace(snapshot, staff=sorted(snapshot.staff, key=lambda s: s.id))
    return hashlib.sha256(msgspec.json.encode(canonical, order="sorted")).hexdigest()


def settings_checksum(settings: OutletSettings) -> str:
    """sha256 of the outlet settings' canonical JSON (keys sorted)."""
    import hashlib

    return hashlib.sha256(msgspec.json.encode(settings, order="sorted")).hexdigest()


def floor_checksum(plan: FloorPlan) -> str:
    """sha256 of the floor plan's canonical JSON: areas and tables sorted by id, keys sorted."""
    import hashlib

    canonical = msgspec.structs.replace(plan, areas=sorted(plan.areas, key=lambda a: a.id),
                                        tables=sorted(plan.tables, key=lambda t: t.id))
    return hashlib.sha256(msgspec.json.encode(canonical, order="sorted")).hexdigest()


def payments_checksum(settings: PaymentSettings) -> str:
    """sha256 of the payment settings' canonical JSON (keys sorted)."""
    import hashlib

    return hashlib.sha256(msgspec.json.encode(settings, order="sorted")).hexdigest()


def confirmations_checksum(confirmations: list[GatewayConfirmation]) -> str:
    """sha256 of the confirmations' canonical JSON (sorted by order id, status, transaction)."""
    import hashlib

    ordered = sorted(confirmations, key=lambda c: (c.gateway_order_id, c.status, c.transaction_id))
    return hashlib.sha256(msgspec.json.encode(ordered, order="sorted")).hexdigest()
