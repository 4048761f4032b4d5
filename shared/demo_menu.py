"""The demo menu: an Indonesian café / quick-service outlet, in English and Indonesian.

Used by ``pos-edge init --demo`` (a stand-alone outlet) and by the ``pos demo`` launcher
(which enters it at the hub through the catalog API and publishes it). Prices in IDR.
Ids are fixed strings so demos, screenshots and docs stay stable.
"""

from __future__ import annotations

from shared.schemas import Catalog, Category, ModifierGroup, ModifierOption, Product, TaxConfig

__all__ = ["demo_catalog"]


def _opt(id_: str, name: str, name_id: str, delta: int = 0) -> ModifierOption:
    return ModifierOption(id=id_, name=name, price_delta=delta, names={"id": name_id})


GROUPS = [
    ModifierGroup(id="mg-size", name="Size", names={"id": "Ukuran"}, min_choices=1, max_choices=1,
                  options=[_opt("opt-regular", "Regular", "Reguler"),
                           _opt("opt-large", "Large", "Besar", 5000)]),
    ModifierGroup(id="mg-spice", name="Spice level", names={"id": "Tingkat pedas"}, min_choices=1,
                  max_choices=1,
                  options=[_opt("opt-mild", "Mild", "Tidak pedas"), _opt("opt-medium", "Medium", "Sedang"),
                           _opt("opt-hot", "Hot", "Pedas"), _opt("opt-extra-hot", "Extra hot", "Pedas sekali")]),
    ModifierGroup(id="mg-extras", name="Extras", names={"id": "Tambahan"}, min_choices=0, max_choices=3,
                  options=[_opt("opt-egg", "Fried egg", "Telur ceplok", 5000),
                           _opt("opt-cheese", "Cheese", "Keju", 6000),
                           _opt("opt-kerupuk", "Prawn crackers", "Kerupuk udang", 3000),
                           _opt("opt-rice", "Extra rice", "Nasi tambah", 5000)]),
    ModifierGroup(id="mg-ice", name="Ice", names={"id": "Es"}, min_choices=1, max_choices=1,
                  options=[_opt("opt-normal-ice", "Normal ice", "Es normal"),
                           _opt("opt-less-ice", "Less ice", "Sedikit es"),
                           _opt("opt-no-ice", "No ice", "Tanpa es"),
                           _opt("opt-hot-drink", "Hot", "Panas")]),
    ModifierGroup(id="mg-sugar", name="Sugar", names={"id": "Gula"}, min_choices=0, max_choices=1,
                  options=[_opt("opt-less-sugar", "Less sugar", "Kurang manis"),
                           _opt("opt-no-sugar", "No sugar", "Tanpa gula")]),
    ModifierGroup(id="mg-coffee-extras", name="Coffee extras", names={"id": "Tambahan kopi"},
                  min_choices=0, max_choices=2,
                  options=[_opt("opt-extra-shot", "Extra shot", "Tambah shot", 8000),
                           _opt("opt-oat-milk", "Oat milk", "Susu oat", 7000),
                           _opt("opt-palm-sugar", "Palm sugar syrup", "Sirup gula aren", 5000)]),
]

CATEGORIES = [
    Category(id="cat-rice", name="Rice dishes", names={"id": "Nasi"}, station="kitchen", sort=1, color="#c0392b"),
    Category(id="cat-noodles", name="Noodles", names={"id": "Mie"}, station="kitchen", sort=2, color="#d35400"),
    Category(id="cat-snacks", name="Snacks", names={"id": "Camilan"}, station="kitchen", sort=3, color="#b7950b"),
    Category(id="cat-coffee", name="Coffee", names={"id": "Kopi"}, station="bar", sort=4, color="#6e4b3a"),
    Category(id="cat-drinks", name="Cold drinks", names={"id": "Minuman dingin"}, station="bar", sort=5, color="#1f7a8c"),
    Category(id="cat-desserts", name="Desserts", names={"id": "Pencuci mulut"}, station="bar", sort=6, color="#8e44ad"),
]

# (id, category, English, Indonesian, price, modifier groups)
_PRODUCTS: list[tuple[str, str, str, str, int, list[str]]] = [
    ("p-nasi-goreng", "cat-rice", "Fried rice", "Nasi goreng spesial", 35000, ["mg-spice", "mg-extras"]),
    ("p-nasi-ayam-bakar", "cat-rice", "Grilled chicken rice", "Nasi ayam bakar", 42000, ["mg-spice", "mg-extras"]),
    ("p-nasi-rendang", "cat-rice", "Beef rendang rice", "Nasi rendang", 48000, ["mg-extras"]),
    ("p-nasi-uduk", "cat-rice", "Coconut rice platter", "Nasi uduk komplit", 38000, ["mg-spice", "mg-extras"]),
    ("p-nasi-campur", "cat-rice", "Mixed rice", "Nasi campur Bali", 45000, ["mg-spice", "mg-extras"]),
    ("p-ayam-geprek", "cat-rice", "Smashed chicken rice", "Ayam geprek", 32000, ["mg-spice", "mg-extras"]),
    ("p-sate-ayam", "cat-rice", "Chicken satay (10) with rice", "Sate ayam (10) + nasi", 40000, ["mg-spice"]),
    ("p-mie-goreng", "cat-noodles", "Fried noodles", "Mie goreng Jawa", 33000, ["mg-spice", "mg-extras"]),
    ("p-mie-ayam", "cat-noodles", "Chicken noodle soup", "Mie ayam", 30000, ["mg-size", "mg-spice"]),
    ("p-bakmi", "cat-noodles", "Bakmi with pork-free char siu", "Bakmi ayam panggang", 36000, ["mg-size"]),
    ("p-kwetiau", "cat-noodles", "Fried flat noodles", "Kwetiau goreng", 35000, ["mg-spice", "mg-extras"]),
    ("p-soto-ayam", "cat-noodles", "Chicken soto", "Soto ayam", 32000, ["mg-extras"]),
    ("p-bakso", "cat-noodles", "Meatball soup", "Bakso sapi", 31000, ["mg-size", "mg-spice"]),
    ("p-pisang-goreng", "cat-snacks", "Fried banana", "Pisang goreng", 18000, []),
    ("p-tahu-isi", "cat-snacks", "Stuffed tofu (4)", "Tahu isi (4)", 16000, ["mg-spice"]),
    ("p-lumpia", "cat-snacks", "Spring rolls (3)", "Lumpia Semarang (3)", 22000, []),
    ("p-french-fries", "cat-snacks", "French fries", "Kentang goreng", 20000, ["mg-size", "mg-extras"]),
    ("p-cireng", "cat-snacks", "Cireng with rujak sauce", "Cireng bumbu rujak", 15000, ["mg-spice"]),
    ("p-kopi-susu", "cat-coffee", "Iced palm-sugar milk coffee", "Es kopi susu gula aren", 25000, ["mg-size", "mg-ice", "mg-coffee-extras"]),
    ("p-americano", "cat-coffee", "Americano", "Americano", 22000, ["mg-size", "mg-ice", "mg-coffee-extras"]),
    ("p-cappuccino", "cat-coffee", "Cappuccino", "Cappuccino", 30000, ["mg-size", "mg-ice", "mg-sugar", "mg-coffee-extras"]),
    ("p-latte", "cat-coffee", "Caffè latte", "Kafe latte", 32000, ["mg-size", "mg-ice", "mg-sugar", "mg-coffee-extras"]),
    ("p-kopi-tubruk", "cat-coffee", "Kopi tubruk", "Kopi tubruk", 15000, ["mg-sugar"]),
    ("p-vietnam-drip", "cat-coffee", "Vietnamese drip", "Kopi Vietnam", 24000, ["mg-ice"]),
    ("p-es-teh", "cat-drinks", "Iced sweet tea", "Es teh manis", 10000, ["mg-size", "mg-ice", "mg-sugar"]),
    ("p-es-jeruk", "cat-drinks", "Iced orange", "Es jeruk", 15000, ["mg-size", "mg-ice", "mg-sugar"]),
    ("p-teh-tarik", "cat-drinks", "Teh tarik", "Teh tarik", 20000, ["mg-ice", "mg-sugar"]),
    ("p-alpukat", "cat-drinks", "Avocado shake", "Jus alpukat", 28000, ["mg-sugar"]),
    ("p-air-mineral", "cat-drinks", "Mineral water", "Air mineral", 8000, []),
    ("p-es-kelapa", "cat-drinks", "Young coconut", "Es kelapa muda", 22000, ["mg-sugar"]),
    ("p-es-campur", "cat-desserts", "Es campur", "Es campur", 25000, []),
    ("p-es-cendol", "cat-desserts", "Cendol", "Es cendol", 20000, ["mg-sugar"]),
    ("p-martabak-manis", "cat-desserts", "Sweet martabak", "Martabak manis", 35000, ["mg-extras"]),
    ("p-klepon", "cat-desserts", "Klepon (5)", "Klepon (5)", 15000, []),
]


def demo_catalog() -> Catalog:
    """A fresh copy of the demo menu (34 products, 6 categories, 6 modifier groups)."""
    products = [
        Product(id=pid, category_id=cat, name=en, names={"id": id_name}, price=price,
                modifier_group_ids=list(groups), sort=index)
        for index, (pid, cat, en, id_name, price, groups) in enumerate(_PRODUCTS)
    ]
    return Catalog(version=1, currency="IDR", tax=TaxConfig(service_rate_bp=500, tax_rate_bp=1000),
                   categories=list(CATEGORIES), products=products, modifier_groups=list(GROUPS))
