// Indonesian for the fleet page's open bills (pages/fleet.js); the English is the key, as in
// i18n.js, which merges this table into its own (existing keys win).
export const ID = {
  "Open bills": "Tagihan terbuka",
  "Open bill value": "Nilai tagihan terbuka",
  "Seated longest": "Duduk terlama",
  "{count} open bills ({value})": "{count} tagihan terbuka ({value})",
  "Bills open at the tables (placed, in the kitchen or ready; split parts counted one by one)":
    "Tagihan yang masih terbuka di meja (baru dipesan, di dapur, atau siap; bagian split dihitung satu per satu)",
  "The sum of the open bills' totals": "Jumlah total tagihan yang masih terbuka",
  "How long the party seated first among the open bills has been at its table":
    "Berapa lama rombongan yang paling awal duduk (di antara tagihan terbuka) sudah di mejanya",
  "seated since {time}": "duduk sejak {time}",
  "{m} min": "{m} mnt",
  "{h} h {m} min": "{h} j {m} mnt",
  "{d} d {h} h": "{d} hr {h} j",
};
