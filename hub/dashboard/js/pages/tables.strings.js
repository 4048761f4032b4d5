// Indonesian for the table-service report page (pages/tables.js); the English is the key, as
// in i18n.js, which merges this table into its own (existing keys win).
export const ID = {
  "Tables": "Meja",
  "Table service by area and table": "Layanan meja per area dan meja",
  "Parties": "Rombongan", "Covers": "Tamu", "Turns": "Perputaran meja",
  "Sales at tables": "Penjualan di meja", "Bills": "Tagihan",
  "Spend per cover": "Belanja per tamu", "Turn time": "Lama duduk",
  "Seated to first order": "Duduk sampai pesanan pertama",
  "Voided lines": "Item dibatalkan",
  "By area": "Per area", "By table": "Per meja", "Area": "Area", "Table": "Meja",
  "(no area)": "(tanpa area)",
  "No table service in this period.": "Tidak ada layanan meja pada periode ini.",
  "What the figures mean": "Arti angka-angka",
  DEF_T_PARTIES: "Tagihan yang duduk di meja pada periode ini (bagian split dan tagihan yang digabung bukan rombongan; tagihan batal tidak dihitung).",
  DEF_T_COVERS: "Jumlah tamu rombongan tersebut.",
  DEF_T_TURNS: "Rombongan yang tagihannya selesai (tagihan split: setelah semua bagiannya selesai).",
  DEF_T_SALES: "Total pesanan di meja (tagihan dan bagian split yang tidak batal, split, atau digabung; tagihan terbuka ikut dihitung).",
  DEF_T_SPEND: "Penjualan dibagi jumlah tamu (dibulatkan ke bawah).",
  DEF_T_TURN: "Dari duduk sampai tagihan (bagian terakhir) selesai, rata-rata per perputaran.",
  DEF_T_FIRST: "Dari duduk sampai item pertama dikirim ke dapur, rata-rata per rombongan.",
  DEF_T_VOIDED: "Item yang dibatalkan setelah dikirim: tetap tercatat di tagihan, tidak pernah terjual.",
};

// English of the symbolic keys above.
export const EN = {
  DEF_T_PARTIES: "Bills seated at a table in the period (split parts and merged bills are not parties; voided and cancelled bills are left out).",
  DEF_T_COVERS: "The guests of those parties.",
  DEF_T_TURNS: "Parties whose bill completed (a split bill: once all its parts completed).",
  DEF_T_SALES: "The totals of the orders at the tables (bills and split parts not voided, cancelled, split or merged; open bills included).",
  DEF_T_SPEND: "Sales divided by covers (rounded down).",
  DEF_T_TURN: "From seating to the bill (its last part) completed, averaged over turns.",
  DEF_T_FIRST: "From seating to the first item sent to the kitchen, averaged over parties.",
  DEF_T_VOIDED: "Items voided after they were sent: kept on the bill, never sold.",
};
