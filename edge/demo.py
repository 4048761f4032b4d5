"""The demo outlet: an Indonesian café / fast-food menu and three staff members.

Loaded by ``pos-edge init --demo``. Prices are whole rupiah (IDR has no minor unit at the
till); tax is PB1 10% charged on top of a 5% service charge. Food categories cook at the
``kitchen`` station, drinks and desserts at the ``bar``. Every name has an Indonesian
translation (``names["id"]``) for the kiosk's language switch.
"""

from __future__ import annotations

import secrets

from shared.schemas import (
    Catalog,
    Category,
    FloorArea,
    FloorPlan,
    FloorTable,
    ModifierGroup,
    ModifierOption,
    Product,
    TaxConfig,
)

__all__ = ["DEMO_COURSES", "DEMO_OUTLET_NAME", "DEMO_STAFF", "DEMO_TIMEZONE", "demo_catalog",
           "demo_floor_plan"]

DEMO_OUTLET_NAME = "Warung Demo Kemang"
DEMO_TIMEZONE = "Asia/Jakarta"
# (name, role, PIN). Demo PINs are fixed so the demo and its docs agree; real staff are added
# with `pos-edge staff add` and choose their own.
DEMO_STAFF: list[tuple[str, str, str]] = [
    ("Sari", "cashier", "1234"),
    ("Budi", "kitchen", "5678"),
    ("Dewi", "manager", "246810"),  # managers have 6+ digits
]


def _group(gid: str, name: str, name_id: str, min_c: int, max_c: int,
           options: list[tuple[str, str, str, int]]) -> ModifierGroup:
    return ModifierGroup(
        id=gid, name=name, names={"id": name_id}, min_choices=min_c, max_choices=max_c,
        options=[ModifierOption(id=oid, name=n, names={"id": n_id}, price_delta=delta)
                 for oid, n, n_id, delta in options])


_GROUPS = [
    _group("mg-size", "Size", "Ukuran", 1, 1, [
        ("opt-size-regular", "Regular", "Reguler", 0),
        ("opt-size-large", "Large", "Besar", 6000)]),
    _group("mg-spice", "Spice level", "Tingkat pedas", 1, 1, [
        ("opt-spice-0", "Not spicy", "Tidak pedas", 0),
        ("opt-spice-1", "Mild", "Sedang", 0),
        ("opt-spice-2", "Hot", "Pedas", 0),
        ("opt-spice-3", "Extra hot", "Pedas banget", 1000)]),
    _group("mg-extras", "Extras", "Tambahan", 0, 3, [
        ("opt-extra-egg", "Fried egg", "Telur ceplok", 5000),
        ("opt-extra-cheese", "Cheese", "Keju", 6000),
        ("opt-extra-krupuk", "Crackers", "Kerupuk", 3000),
        ("opt-extra-rice", "Extra rice", "Nasi tambah", 5000),
        ("opt-extra-sambal", "Extra sambal", "Sambal tambah", 2000)]),
    _group("mg-sugar", "Sugar", "Gula", 1, 1, [
        ("opt-sugar-normal", "Normal sugar", "Gula normal", 0),
        ("opt-sugar-less", "Less sugar", "Gula sedikit", 0),
        ("opt-sugar-none", "No sugar", "Tanpa gula", 0)]),
    _group("mg-ice", "Ice", "Es", 0, 1, [
        ("opt-ice-less", "Less ice", "Es sedikit", 0),
        ("opt-ice-none", "No ice", "Tanpa es", 0)]),
    _group("mg-coffee-extras", "Coffee extras", "Tambahan kopi", 0, 2, [
        ("opt-shot", "Extra shot", "Tambah shot", 8000),
        ("opt-oat", "Oat milk", "Susu oat", 7000),
        ("opt-boba", "Boba pearls", "Boba", 5000)]),
]

_CATEGORIES = [
    Category(id="cat-rice", name="Rice dishes", names={"id": "Nasi"}, station="kitchen", sort=1,
             color="#e9a23b"),
    Category(id="cat-noodles", name="Noodles", names={"id": "Mie"}, station="kitchen", sort=2,
             color="#d9534f"),
    Category(id="cat-chicken", name="Chicken & burgers", names={"id": "Ayam & burger"},
             station="kitchen", sort=3, color="#c0703a"),
    Category(id="cat-snacks", name="Snacks", names={"id": "Camilan"}, station="kitchen", sort=4,
             color="#8c6d3f"),
    Category(id="cat-coffee", name="Coffee", names={"id": "Kopi"}, station="bar", sort=5,
             color="#6f4e37"),
    Category(id="cat-drinks", name="Tea & drinks", names={"id": "Teh & minuman"}, station="bar",
             sort=6, color="#3a8d5c"),
    Category(id="cat-dessert", name="Desserts", names={"id": "Pencuci mulut"}, station="bar", sort=7,
             color="#b05f9e"),
]

# (id, category, English, Indonesian, price, modifier groups)
_PRODUCTS: list[tuple[str, str, str, str, int, list[str]]] = [
    ("p-nasi-goreng", "cat-rice", "Fried rice", "Nasi goreng", 28000, ["mg-spice", "mg-extras"]),
    ("p-nasi-goreng-seafood", "cat-rice", "Seafood fried rice", "Nasi goreng seafood", 38000,
     ["mg-spice", "mg-extras"]),
    ("p-nasi-ayam-geprek", "cat-rice", "Smashed chicken rice", "Nasi ayam geprek", 30000,
     ["mg-spice", "mg-extras"]),
    ("p-nasi-rendang", "cat-rice", "Beef rendang rice", "Nasi rendang", 42000, ["mg-extras"]),
    ("p-nasi-uduk", "cat-rice", "Coconut rice plate", "Nasi uduk komplit", 27000, ["mg-extras"]),
    ("p-nasi-campur", "cat-rice", "Mixed rice", "Nasi campur", 35000, ["mg-spice"]),
    ("p-mie-goreng", "cat-noodles", "Fried noodles", "Mie goreng", 26000, ["mg-spice", "mg-extras"]),
    ("p-mie-ayam", "cat-noodles", "Chicken noodles", "Mie ayam", 25000, ["mg-size", "mg-extras"]),
    ("p-bakso", "cat-noodles", "Meatball soup", "Bakso kuah", 27000, ["mg-size", "mg-spice"]),
    ("p-kwetiau", "cat-noodles", "Fried flat noodles", "Kwetiau goreng", 29000,
     ["mg-spice", "mg-extras"]),
    ("p-indomie-telur", "cat-noodles", "Instant noodles with egg", "Indomie telur", 18000,
     ["mg-spice", "mg-extras"]),
    ("p-ayam-goreng", "cat-chicken", "Fried chicken (2 pcs)", "Ayam goreng (2 potong)", 32000,
     ["mg-spice"]),
    ("p-ayam-bakar", "cat-chicken", "Grilled chicken", "Ayam bakar", 34000, ["mg-spice"]),
    ("p-burger-ayam", "cat-chicken", "Crispy chicken burger", "Burger ayam krispi", 33000,
     ["mg-spice", "mg-extras"]),
    ("p-burger-sapi", "cat-chicken", "Beef burger", "Burger sapi", 39000, ["mg-extras"]),
    ("p-sate-ayam", "cat-chicken", "Chicken satay (10)", "Sate ayam (10 tusuk)", 30000,
     ["mg-spice"]),
    ("p-kentang", "cat-snacks", "French fries", "Kentang goreng", 18000, ["mg-size"]),
    ("p-pisang-goreng", "cat-snacks", "Fried banana", "Pisang goreng", 15000, []),
    ("p-tahu-crispy", "cat-snacks", "Crispy tofu", "Tahu crispy", 14000, ["mg-spice"]),
    ("p-cireng", "cat-snacks", "Cireng with rujak sauce", "Cireng bumbu rujak", 15000, []),
    ("p-risoles", "cat-snacks", "Risoles (3)", "Risoles (3 buah)", 16000, []),
    ("p-kopi-susu", "cat-coffee", "Iced palm sugar latte", "Es kopi susu gula aren", 22000,
     ["mg-size", "mg-ice", "mg-coffee-extras"]),
    ("p-americano", "cat-coffee", "Americano", "Americano", 20000,
     ["mg-size", "mg-ice", "mg-coffee-extras"]),
    ("p-cappuccino", "cat-coffee", "Cappuccino", "Cappuccino", 27000,
     ["mg-size", "mg-sugar", "mg-coffee-extras"]),
    ("p-kopi-tubruk", "cat-coffee", "Tubruk coffee", "Kopi tubruk", 12000, ["mg-sugar"]),
    ("p-es-teh", "cat-drinks", "Iced sweet tea", "Es teh manis", 8000, ["mg-size", "mg-sugar", "mg-ice"]),
    ("p-teh-tarik", "cat-drinks", "Pulled milk tea", "Teh tarik", 15000, ["mg-size", "mg-ice"]),
    ("p-es-jeruk", "cat-drinks", "Iced orange juice", "Es jeruk", 14000, ["mg-size", "mg-sugar", "mg-ice"]),
    ("p-thai-tea", "cat-drinks", "Thai tea", "Thai tea", 18000, ["mg-size", "mg-ice", "mg-coffee-extras"]),
    ("p-air-mineral", "cat-drinks", "Mineral water", "Air mineral", 6000, []),
    ("p-es-campur", "cat-dessert", "Mixed ice dessert", "Es campur", 20000, []),
    ("p-es-cendol", "cat-dessert", "Cendol", "Es cendol", 16000, ["mg-sugar"]),
    ("p-martabak-manis", "cat-dessert", "Sweet martabak", "Martabak manis", 30000, ["mg-extras"]),
    ("p-klepon", "cat-dessert", "Klepon (5)", "Klepon (5 buah)", 12000, []),
]


def demo_catalog() -> Catalog:
    """The demo menu: 34 products in 7 categories, with required and optional modifiers."""
    products = [
        Product(id=pid, category_id=cat, name=name, names={"id": name_id}, price=price,
                modifier_group_ids=groups, sort=index)
        for index, (pid, cat, name, name_id, price, groups) in enumerate(_PRODUCTS)]
    return Catalog(
        version=1, currency="IDR",
        tax=TaxConfig(service_rate_bp=500, tax_rate_bp=1000, tax_name="PB1",
                      prices_include_tax=False, rounding_unit=100),
        categories=list(_CATEGORIES), products=products, modifier_groups=list(_GROUPS))


# Courses in firing order (line.course values); the waiter app offers them per line.
DEMO_COURSES = ["minuman", "makanan", "pencuci_mulut"]


def demo_floor_plan() -> FloorPlan:
    """The demo floor: 8 indoor tables (A1-A8) and 6 on the terrace (T1-T6), each with a
    random guest QR token (never a guessable one, even in a demo). Takeaway keeps
    its service charge here (``service_charge_dine_in_only`` false), as the demo menu's
    receipts always showed; head office turns it on per outlet."""
    areas = [FloorArea(id="area-indoor", name="Indoor", names={"id": "Dalam"}, sort=1),
             FloorArea(id="area-teras", name="Teras", names={"en": "Terrace"}, sort=2)]
    indoor = [FloorTable(id=f"tbl-a{n}", area_id="area-indoor", name=f"A{n}",
                         seats=2 if n <= 2 else 4 if n <= 6 else 6, sort=n,
                         x=60 + ((n - 1) % 4) * 230, y=80 if n <= 4 else 380,
                         shape="round" if n <= 2 else "rect",
                         guest_token=secrets.token_urlsafe(18))
              for n in range(1, 9)]
    terrace = [FloorTable(id=f"tbl-t{n}", area_id="area-teras", name=f"T{n}", seats=4, sort=n,
                          x=60 + ((n - 1) % 3) * 300, y=100 if n <= 3 else 450, shape="round",
                          guest_token=secrets.token_urlsafe(18))
               for n in range(1, 7)]
    return FloorPlan(version=1, areas=areas, tables=indoor + terrace,
                     service_charge_dine_in_only=False, guest_orders="confirm",
                     courses=list(DEMO_COURSES), void_approval_threshold=50_000)
