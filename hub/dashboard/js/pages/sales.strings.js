// Indonesian for the sales statement of the sales page (pages/sales.js); the English is the
// key, as in i18n.js, which merges this table into its own (existing keys win). The figures
// and their rules: hub/reports/__init__.py, docs/dashboard.md ("Sales").
export const ID = {
  "Sales statement": "Ikhtisar penjualan",
  "Paid in full": "Lunas",
  "Open (not fully paid)": "Terbuka (belum lunas)",
  "All sales": "Semua penjualan",
  "Gross sales": "Penjualan kotor",
  "Tax and service in menu prices": "Pajak dan layanan dalam harga menu",
  "Net sales": "Penjualan bersih",
  "Service charge": "Biaya layanan",
  "Tax": "Pajak",
  "Cash rounding": "Pembulatan",
  "Total": "Total",
  "Overpaid": "Kelebihan bayar",
  SALES_DEF_SETTLED: "Penjualan yang pembayarannya menutup totalnya, apa pun status dapurnya: sudah selesai untuk pembukuan.",
  SALES_DEF_OPEN: "Penjualan yang belum lunas (tagihan masih terbuka, atau baru dibayar sebagian): tetap dihitung sebagai penjualan, sisa totalnya belum dibayar.",
  SALES_DEF_GROSS: "Total baris penjualan dengan harga menu (jumlah × harga satuan termasuk opsi; baris yang dibatalkan tidak dihitung), sebelum diskon.",
  SALES_DEF_INCLUDED: "Hanya untuk outlet yang harga menunya sudah termasuk pajak: biaya layanan dan pajak di dalam harga itu. Penjualan kotor − diskon − angka ini = penjualan bersih. Nol bila harga belum termasuk pajak.",
  SALES_DEF_NET: "Penjualan kotor dikurangi diskon (dan pajak serta layanan yang ada di dalam harga menu): penjualan sebelum biaya layanan dan pajak. Penjualan bersih + biaya layanan + pajak + pembulatan = total.",
  SALES_DEF_SERVICE: "Biaya layanan atas penjualan, seperti yang ditagih outlet (dari penjualan bersih).",
  SALES_DEF_TAX: "Pajak (PB1) atas penjualan, seperti yang ditagih outlet (dari penjualan bersih ditambah biaya layanan).",
  SALES_DEF_ROUNDING: "Selisih pembulatan total ke satuan kas outlet (misalnya Rp 100): ditambahkan (+) atau dikurangkan (−).",
  SALES_DEF_TOTAL: "Yang harus dibayar pelanggan: penjualan bersih + biaya layanan + pajak + pembulatan. Sama dengan “Penjualan termasuk pesanan terbuka”.",
  SALES_DEF_PAID: "Pembayaran yang tercatat untuk penjualan tersebut, semua metode, per pesanan paling banyak sebesar totalnya (kelebihannya masuk “Kelebihan bayar”). Dibayar + belum dibayar = total.",
  SALES_DEF_OVERPAID: "Pembayaran melebihi total pesanan (pembayaran yang datang setelah pesanan lunas, ditandai untuk dikembalikan di kasir). Tidak termasuk “Dibayar”; hanya ditampilkan bila ada.",
  SALES_STATEMENT_NOTE: "Penjualan = pesanan yang tidak dibatalkan pada hari bisnis periode ini. Pengembalian dana setelah serah terima tidak dikurangkan dari angka-angka ini (lihat pengembalian dana per metode di CSV).",
};

// English of the symbolic keys above.
export const EN = {
  SALES_DEF_SETTLED: "Sales whose payments cover their total, whatever the kitchen's state: closed for the books.",
  SALES_DEF_OPEN: "Sales not yet fully paid (bills still open, or paid in part): counted as sales; the rest of their total is outstanding.",
  SALES_DEF_GROSS: "The line totals of the sales at menu prices (quantity × unit price with options; voided lines left out), before any discount.",
  SALES_DEF_INCLUDED: "Only for outlets whose menu prices include tax: the service charge and tax inside those prices. Gross sales − discounts − this = net sales. Zero where prices exclude tax.",
  SALES_DEF_NET: "Gross sales less discounts (and less the tax and service inside menu prices): the sales before service charge and tax. Net sales + service charge + tax + cash rounding = total.",
  SALES_DEF_SERVICE: "The service charge on the sales, as the outlets charged it (on net sales).",
  SALES_DEF_TAX: "The tax (PB1) on the sales, as the outlets charged it (on net sales plus service charge).",
  SALES_DEF_ROUNDING: "What rounding the totals to the outlet's cash unit (e.g. Rp 100) added (+) or took off (−).",
  SALES_DEF_TOTAL: "What the customers owe: net sales + service charge + tax + cash rounding. The same as “Sales incl. open orders”.",
  SALES_DEF_PAID: "Payments recorded against those sales, all methods, each order's counted up to its total (anything beyond is overpaid). Paid + outstanding = total.",
  SALES_DEF_OVERPAID: "Payments beyond an order's total (a payment that arrived after the order was paid, flagged for refund at the till). Not in paid; shown when there is any.",
  SALES_STATEMENT_NOTE: "Sales are the orders of the period's business days that were not voided or cancelled. Refunds given after hand-over are not taken off these figures (refunds by method are in the CSV).",
};
