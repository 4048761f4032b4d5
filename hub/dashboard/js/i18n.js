// Indonesian and English for the dashboard. The English text is the key (what the code
// reads); ID maps it to Indonesian. t("Saved {name}.", {name}) fills {placeholders}.
// The choice is kept in this browser per signed-in user (localStorage), and before sign-in
// the last choice made here; the first visit follows the browser's language.
// tests/hub/test_dashboard_i18n.py fails when a t("…") text of any page has no Indonesian.

import { ID as FLEET_ID } from "./pages/fleet.strings.js";
import { ID as FLOOR_ID } from "./pages/floor.strings.js";
import { EN as SALES_EN, ID as SALES_ID } from "./pages/sales.strings.js";
import { ID as MENU_ID } from "./pages/menu.strings.js";
import { EN as TABLES_EN, ID as TABLES_ID } from "./pages/tables.strings.js";

const STORE = "fnbpos.hub.lang";
export const LANGS = [["id", "Bahasa Indonesia"], ["en", "English"]];

const ID = {
  // shell
  "Skip to content": "Lewati ke konten", "Main": "Utama", "Sign out": "Keluar", "Language": "Bahasa",
  "fnbpos head office": "fnbpos kantor pusat",
  "Fleet": "Armada outlet", "Sales": "Penjualan", "Payments": "Pembayaran", "Menu": "Menu",
  "Outlets": "Outlet", "Users": "Pengguna", "Staff": "Staf", "Audit log": "Log audit",
  "Sign in": "Masuk", "The dashboard needs JavaScript.": "Dasbor ini memerlukan JavaScript.",
  // roles, stations, methods, states
  "Owner": "Pemilik", "HQ admin": "Admin kantor pusat", "Area manager": "Manajer area",
  "Outlet manager": "Manajer outlet", "Technician": "Teknisi", "Cashier": "Kasir",
  "Kitchen": "Dapur", "Manager": "Manajer", "Bar": "Bar", "Cash": "Tunai", "Card": "Kartu",
  "QRIS": "QRIS", "E-wallet": "Dompet digital", "Other": "Lainnya",
  "Active": "Aktif", "Disabled": "Nonaktif", "Inactive": "Tidak aktif", "Online": "Daring",
  "Offline": "Luring", "all": "semua", "none": "tidak ada",
  // login
  "Email": "Email", "Password": "Kata sandi", "Sign in to head office": "Masuk ke kantor pusat",
  "Wrong email or password.": "Email atau kata sandi salah.",
  // fleet
  "Refresh": "Muat ulang", "Outlet": "Outlet", "Status": "Status", "Last sync": "Sinkron terakhir",
  "Backlog": "Antrean", "Version": "Versi", "Alerts": "Peringatan",
  "Outlets and their sync state": "Outlet dan status sinkronnya", "No outlets yet.": "Belum ada outlet.",
  "{online} of {total} outlets online · updated {time}": "{online} dari {total} outlet daring · diperbarui {time}",
  " · {count} with several sync credentials": " · {count} dengan beberapa kredensial sinkron",
  "{count} active sync credentials": "{count} kredensial sinkron aktif",
  "More than one box can sync as this outlet. Revoke the credential you do not recognise.":
    "Lebih dari satu perangkat dapat sinkron sebagai outlet ini. Cabut kredensial yang tidak Anda kenali.",
  "Could not load the fleet: {error}": "Armada tidak dapat dimuat: {error}",
  "never": "belum pernah", "{n} s ago": "{n} dtk lalu", "{n} min ago": "{n} mnt lalu",
  "{n} h ago": "{n} jam lalu", "{n} d ago": "{n} hari lalu",
  // sales
  "All my outlets": "Semua outlet saya", "From": "Dari", "To": "Sampai", "Show report": "Tampilkan laporan",
  "Could not load outlets: {error}": "Outlet tidak dapat dimuat: {error}",
  "Sales incl. open orders": "Penjualan termasuk pesanan terbuka", "Paid": "Dibayar",
  "Outstanding": "Belum dibayar", "Discounts": "Diskon", "Orders": "Pesanan",
  "Average order": "Rata-rata pesanan", "Payment success": "Keberhasilan pembayaran", "Voids": "Pembatalan",
  "Refunds": "Pengembalian dana", "Prep time p50 / p90": "Waktu saji p50 / p90",
  "Kitchen tickets": "Tiket dapur", "{count} · avg {time}": "{count} · rata-rata {time}",
  "Sales by day": "Penjualan per hari", "Orders by hour (outlet time)": "Pesanan per jam (waktu outlet)",
  "Orders by hour": "Pesanan per jam", "{n} orders": "{n} pesanan",
  "Top products by revenue": "Produk teratas menurut pendapatan", "Top products": "Produk teratas",
  "{n} sold": "{n} terjual", "No sales in this period.": "Tidak ada penjualan pada periode ini.",
  "Payments by method": "Pembayaran per metode", "No payments in this period.": "Tidak ada pembayaran pada periode ini.",
  "By outlet": "Per outlet", "Products": "Produk", "Product": "Produk", "Qty": "Jml", "Revenue": "Pendapatan",
  "Payment success = {definition}.": "Keberhasilan pembayaran = {definition}.",
  "What the figures mean": "Arti setiap angka",
  "Download CSV": "Unduh CSV", "Day": "Hari", "Method": "Metode", "Count": "Jumlah", "Amount": "Nominal",
  "Figure": "Angka", "Value": "Nilai", "Discounts by reason": "Diskon per alasan", "Reason": "Alasan",
  "(no reason)": "(tanpa alasan)", "Refunds by method": "Pengembalian dana per metode",
  "DEF_SALES": "Jumlah total pesanan (setelah diskon, termasuk biaya layanan, pajak dan pembulatan) dari semua pesanan yang tidak dibatalkan pada periode ini, termasuk pesanan yang masih terbuka dan belum dibayar. Bukan pendapatan yang sudah diterima.",
  "DEF_OUTSTANDING": "Penjualan dikurangi yang dibayar: masih harus ditagih dari pesanan terbuka.",
  "DEF_DISCOUNTS": "Diskon yang diberikan pada pesanan-pesanan tersebut (pesanan dan baris), sudah dikurangkan dari penjualan.",
  "DEF_VOIDS": "Pesanan yang dibatalkan: jumlah dan nilainya; tidak termasuk penjualan.",
  "DEF_REFUNDS": "Pembatalan pesanan yang sudah dibayar (uang dikembalikan): jumlah dan nilai yang telah dibayar.",
  "DEF_AVERAGE": "Penjualan dibagi jumlah pesanan (dibulatkan ke bawah).",
  "DEF_SUCCESS": "Pesanan dibayar dibagi (pesanan dibayar + pesanan dibatalkan tanpa pembayaran).",
  // menu
  "Brand": "Merek", "Prices for": "Harga untuk", "All outlets (brand price)": "Semua outlet (harga merek)",
  "Publish menu": "Terbitkan menu", "Categories": "Kategori", "Add a category": "Tambah kategori",
  "Name": "Nama", "Name (English)": "Nama (Inggris)", "Name (Indonesian)": "Nama (Indonesia)",
  "Kitchen station": "Stasiun dapur", "Add category": "Tambah kategori",
  "Category “{name}” added.": "Kategori “{name}” ditambahkan.",
  "Published version {version} · {time}": "Versi terbit {version} · {time}", "Never published": "Belum pernah diterbitkan",
  "Outlet price of {name} (empty = brand price)": "Harga outlet untuk {name} (kosong = harga merek)",
  "Price of {name}": "Harga {name}", "{name} available": "{name} tersedia", "Save": "Simpan",
  "Save {name}": "Simpan {name}", "A product needs a price": "Produk harus punya harga",
  "Saved {name}. Publish to send it to the outlets.": "{name} disimpan. Terbitkan untuk mengirimnya ke outlet.",
  "Add a category to start the menu.": "Tambahkan kategori untuk memulai menu.",
  "Price ({currency})": "Harga ({currency})", "Add product": "Tambah produk", "Add a product": "Tambah produk",
  "Product “{name}” added.": "Produk “{name}” ditambahkan.", "{name}: products": "{name}: produk",
  " · overrides for {outlet}": " · pengaturan khusus {outlet}", "Brand price": "Harga merek",
  "Outlet price": "Harga outlet", "Price": "Harga", "Available": "Tersedia", "Actions": "Tindakan",
  "No products in this category yet.": "Belum ada produk di kategori ini.",
  "Group name": "Nama grup", "Min choices": "Pilihan minimum", "Max choices": "Pilihan maksimum",
  "Options, one per line: name, price change": "Opsi, satu per baris: nama, perubahan harga",
  "Option “{line}”: {error}": "Opsi “{line}”: {error}", "Add modifier group": "Tambah grup modifier",
  "Modifier group “{name}” added.": "Grup modifier “{name}” ditambahkan.", "Modifier groups": "Grup modifier",
  "Group": "Grup", "Choices": "Pilihan", "Options": "Opsi", "No modifier groups yet.": "Belum ada grup modifier.",
  "Published version {version} to {count} outlet(s).": "Versi {version} diterbitkan ke {count} outlet.",
  "Create a brand first.": "Buat merek terlebih dahulu.",
  "Type a price.": "Isi harga.",
  "PRICE_AMBIGUOUS": "“{text}” tidak dapat dibaca sebagai rupiah: pakai titik sebagai pemisah ribuan (21.500) atau tanpa pemisah (21500); rupiah tidak memakai desimal.",
  "PRICE_BAD": "“{text}” bukan harga: ketik angka seperti {example}.",
  "PRICE_NEGATIVE": "Harga tidak boleh negatif.",
  // outlets
  "Time zone": "Zona waktu", "Address": "Alamat", "Currency": "Mata uang", "Create outlet": "Buat outlet",
  "Outlet “{name}” created.": "Outlet “{name}” dibuat.", "Enrollment code for {name}": "Kode pendaftaran untuk {name}",
  "Valid until {time}. It works once; on the outlet box run ": "Berlaku sampai {time}. Hanya sekali pakai; di perangkat outlet jalankan ",
  "The hub keeps only a digest: this is the only time the code is shown.": "Hub hanya menyimpan ringkasannya: kode ini hanya ditampilkan sekarang.",
  "Enrollment code": "Kode pendaftaran", "Generate enrollment code for {name}": "Buat kode pendaftaran untuk {name}",
  "New outlet": "Outlet baru", "State": "Keadaan", "Provisioning": "Pemasangan",
  // users
  "Initial password": "Kata sandi awal", "Role": "Peran", "Outlets this user may see": "Outlet yang boleh dilihat pengguna ini",
  "Create user": "Buat pengguna", "User {email} created.": "Pengguna {email} dibuat.",
  "Could not load users: {error}": "Pengguna tidak dapat dimuat: {error}", "New user": "Pengguna baru",
  // staff
  "PIN (4-8 digits) · managers 6+ · empty: the hub draws one": "PIN (4-8 angka) · manajer 6+ · kosong: hub membuatkan",
  "Works at": "Bekerja di", "All outlets": "Semua outlet", "Create staff member": "Buat staf",
  " New PIN for {name}: {pin} (shown once: give it to them now).": " PIN baru untuk {name}: {pin} (hanya ditampilkan sekali: berikan sekarang).",
  "{name} can log in at the tills after the outlets' next sync.": "{name} dapat masuk di kasir setelah sinkron outlet berikutnya.",
  "PIN of {name} changed.": "PIN {name} diubah.", "New PIN for {name} (empty: the hub draws one)": "PIN baru untuk {name} (kosong: hub membuatkan)",
  "Save PIN": "Simpan PIN", "Deactivate": "Nonaktifkan", "Reactivate": "Aktifkan lagi",
  "Deactivate {name}": "Nonaktifkan {name}", "Reactivate {name}": "Aktifkan lagi {name}",
  "{name} deactivated.": "{name} dinonaktifkan.", "{name} reactivated.": "{name} diaktifkan lagi.",
  "Change PIN": "Ubah PIN", "Give a PIN": "Beri PIN", "Change PIN of {name}": "Ubah PIN {name}",
  "Active · needs a new PIN": "Aktif · perlu PIN baru", "No staff yet.": "Belum ada staf.",
  "Could not load staff: {error}": "Staf tidak dapat dimuat: {error}",
  "People who log in at the outlets' tills with a PIN. Changes reach each outlet with its next sync.":
    "Orang yang masuk di kasir outlet dengan PIN. Perubahan sampai ke tiap outlet pada sinkron berikutnya.",
  "New staff member": "Staf baru",
  // audit
  "When": "Waktu", "Who": "Siapa", "Action": "Tindakan", "Subject": "Objek", "Changes": "Perubahan",
  "IP address": "Alamat IP", "Kind": "Jenis", "All kinds": "Semua jenis", "Show": "Tampilkan",
  "Older entries": "Entri lebih lama", "No entries.": "Tidak ada entri.", "Administrative changes, newest first.": "Perubahan administratif, terbaru di atas.",
  "Could not load the audit log: {error}": "Log audit tidak dapat dimuat: {error}",
  "Category": "Kategori", "Modifier group": "Grup modifier", "Staff member": "Staf", "User": "Pengguna",
  "Company": "Perusahaan", "Availability": "Ketersediaan", "Sync credential": "Kredensial sinkron",
  "Payment gateway": "Gerbang pembayaran", "Quarantined sync": "Sinkron dikarantina", "changed": "diubah",
  "archived": "diarsipkan", "set": "diatur", "cleared": "dihapus", "revoked": "dicabut", "redeemed": "dipakai",
  "webhook refused": "webhook ditolak", "PIN conflict": "PIN bentrok", "released": "dilepas", "discarded": "dibuang",
  "Indonesian name of {name}": "Nama Indonesia untuk {name}",
  // payments
  "Reconcile day (UTC)": "Hari rekonsiliasi (UTC)", "All": "Semua", "via {gateway}": "lewat {gateway}",
  "{gateway} (confirmed)": "{gateway} (terkonfirmasi)", "Attempts": "Percobaan", "Pending": "Menunggu",
  "Expired": "Kedaluwarsa", "Cancelled / failed": "Dibatalkan / gagal", "Late": "Terlambat", "Success": "Berhasil",
  "No refunds in this period.": "Tidak ada pengembalian dana pada periode ini.",
  "Reconciliation {day}": "Rekonsiliasi {day}",
  "Reconciliation {day}: {count} difference(s)": "Rekonsiliasi {day}: {count} selisih",
  "Difference": "Selisih", "Gateway": "Gerbang", "Gateway order": "Pesanan gerbang", "Recorded": "Tercatat",
  "Confirmed": "Terkonfirmasi",
  "Everything the gateways confirmed was recorded, and the other way round.":
    "Semua yang dikonfirmasi gerbang pembayaran sudah tercatat, dan sebaliknya.",
  "Recorded, not confirmed by the gateway": "Tercatat, tidak dikonfirmasi gerbang pembayaran",
  "Confirmed by the gateway, not recorded": "Dikonfirmasi gerbang pembayaran, tidak tercatat",
  "Amount differs": "Nominal berbeda", "Static QR, confirmed by eye": "QR statis, dicek secara manual",
  "system": "sistem", "created": "dibuat", "updated": "diubah", "deleted": "dihapus", "published": "diterbitkan",
};

// Long texts under a symbolic key: their English.
// Pages with a strings file of their own (pages/<page>.strings.js); this table's keys win.
for (const [key, text] of Object.entries(FLOOR_ID)) if (!(key in ID)) ID[key] = text;
for (const [key, text] of Object.entries(FLEET_ID)) if (!(key in ID)) ID[key] = text;
for (const [key, text] of Object.entries(TABLES_ID)) if (!(key in ID)) ID[key] = text;
for (const [key, text] of Object.entries(SALES_ID)) if (!(key in ID)) ID[key] = text;
for (const [key, text] of Object.entries(MENU_ID)) if (!(key in ID)) ID[key] = text;

const EN = {
  DEF_SALES: "The sum of order totals (after discounts, with service charge, tax and rounding) of every order of the period that was not voided, open and unpaid orders included. It is not money received.",
  DEF_OUTSTANDING: "Sales minus paid: still to be collected on open orders.",
  DEF_DISCOUNTS: "Discounts given on those orders (order and line discounts), already taken off the sales.",
  DEF_VOIDS: "Voided orders: how many and their value; not part of the sales.",
  DEF_REFUNDS: "Voids of orders that had been paid (money given back): how many and what had been paid.",
  DEF_AVERAGE: "Sales divided by the number of orders (rounded down).",
  DEF_SUCCESS: "Paid orders divided by paid orders plus orders voided without any payment.",
  PRICE_AMBIGUOUS: "Could not read “{text}” as rupiah: use a dot between thousands (21.500) or no separator (21500); rupiah has no decimals.",
  PRICE_BAD: "“{text}” is not a price: type a number such as {example}.",
  PRICE_NEGATIVE: "A price cannot be negative.",
};
for (const [key, text] of Object.entries(TABLES_EN)) if (!(key in EN)) EN[key] = text;
for (const [key, text] of Object.entries(SALES_EN)) if (!(key in EN)) EN[key] = text;

// Raw codes the API returns, as labels (roles, stations, payment methods, audit entities).
const CODES = {
  owner: "Owner", hq_admin: "HQ admin", area_manager: "Area manager", outlet_manager: "Outlet manager",
  technician: "Technician", cashier: "Cashier", kitchen: "Kitchen", manager: "Manager", bar: "Bar",
  cash: "Cash", card: "Card", qris: "QRIS", ewallet: "E-wallet", other: "Other",
  outlet: "Outlet", user: "Users", staff: "Staff", product: "Product", category: "Categories",
  modifier_group: "Modifier groups", brand: "Brand",
};

function stored() {
  try { return localStorage; } catch { return null; }
}

let current = null;
const listeners = new Set();

function keyFor(userKey) { return userKey ? `${STORE}.${userKey}` : STORE; }

/** The language in use: "id" or "en". */
export function lang() {
  if (!current) {
    const saved = stored()?.getItem(STORE);
    current = saved === "id" || saved === "en" ? saved
      : (navigator.language || "").toLowerCase().startsWith("id") ? "id" : "en";
  }
  return current;
}

/** Switch language; remembered for `userKey` (the signed-in user) and as this browser's last. */
export function setLang(next, userKey) {
  if (next !== "id" && next !== "en") return;
  current = next;
  stored()?.setItem(STORE, next);
  if (userKey) stored()?.setItem(keyFor(userKey), next);
  document.documentElement.lang = next;
  for (const fn of listeners) fn(next);
}

/** After sign-in: take the user's own saved choice, if any. */
export function useLangOf(userKey) {
  const saved = userKey ? stored()?.getItem(keyFor(userKey)) : null;
  if ((saved === "id" || saved === "en") && saved !== lang()) setLang(saved, userKey);
  else document.documentElement.lang = lang();
}

export function onLangChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

/** Translate `text` (the English) and fill {placeholders} from `params`. */
export function t(text, params) {
  const template = (lang() === "id" && ID[text]) || EN[text] || text;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** A label for a code from the API ("cashier" -> "Kasir"); unknown codes are prettified. */
export function label(code) {
  if (code === null || code === undefined || code === "") return "–";
  const english = CODES[code];
  if (english) return t(english);
  return String(code).replace(/[_.]/g, " ").replace(/^./, (c) => c.toUpperCase());
}

/** The locale for dates and numbers. */
export function locale() { return lang() === "id" ? "id-ID" : "en-GB"; }

export const DEFINED = ID; // for the completeness test
export const SYMBOLIC = EN;
