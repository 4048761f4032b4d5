// Indonesian for the menu editor (pages/menu.js): renaming, deleting and restoring products,
// their order, and editing modifier groups. The English is the key, as in i18n.js, which
// merges this table into its own (existing keys win).
export const ID = {
  // products
  "Order": "Urutan", "Move up": "Naikkan", "Move down": "Turunkan",
  "Move {name} up": "Naikkan {name}", "Move {name} down": "Turunkan {name}",
  "Order saved. Publish to send it to the outlets.": "Urutan disimpan. Terbitkan untuk mengirimnya ke outlet.",
  "The category changed meanwhile; it is shown again. Try the move once more.":
    "Kategori ini baru saja diubah; kini ditampilkan ulang. Coba pindahkan sekali lagi.",
  "Products show in this order on the kiosk, the till and the waiter's phone.":
    "Produk tampil dengan urutan ini di kios, kasir, dan ponsel pelayan.",
  "English name of {name}": "Nama Inggris untuk {name}", "Name: English, Indonesian": "Nama: Inggris, Indonesia", "A product needs a name": "Produk harus punya nama",
  "Modifier groups: {names}": "Grup modifier: {names}", "No modifier groups": "Tanpa grup modifier",
  "Delete": "Hapus", "Delete {name}": "Hapus {name}", "Cancel": "Batal",
  "Delete “{name}” from the menu? Past orders and reports keep it; you can restore it later.":
    "Hapus “{name}” dari menu? Pesanan dan laporan lama tetap menyimpannya; Anda dapat memulihkannya nanti.",
  "“{name}” deleted. Publish to remove it from the outlets.":
    "“{name}” dihapus. Terbitkan untuk menghapusnya dari outlet.",
  "Deleted products ({count})": "Produk terhapus ({count})",
  "Restore": "Pulihkan", "Restore {name}": "Pulihkan {name}",
  "“{name}” restored, last in its category. Publish to send it to the outlets.":
    "“{name}” dipulihkan, di urutan terakhir kategorinya. Terbitkan untuk mengirimnya ke outlet.",
  // modifier groups
  "Add a modifier group": "Tambah grup modifier", "Edit": "Ubah", "Edit {name}": "Ubah {name}",
  "Edit modifier group “{name}”": "Ubah grup modifier “{name}”",
  "Exactly {n}": "Tepat {n}", "Up to {max}, optional": "Hingga {max}, opsional", "{min} to {max}": "{min} sampai {max}",
  "sold out": "habis",
  "Min 0 makes the group optional; min 1 and max 1 means exactly one choice.":
    "Minimum 0 berarti grup ini opsional; minimum 1 dan maksimum 1 berarti tepat satu pilihan.",
  "Price change ({currency})": "Perubahan harga ({currency})",
  "Move option {n} up": "Naikkan opsi {n}", "Move option {n} down": "Turunkan opsi {n}",
  "Option {n}: name": "Opsi {n}: nama", "Option {n}: Indonesian name": "Opsi {n}: nama Indonesia",
  "Option {n}: price change": "Opsi {n}: perubahan harga", "Option {n}: available": "Opsi {n}: tersedia",
  "Remove": "Hapus", "Remove option {n}": "Hapus opsi {n}", "No options yet.": "Belum ada opsi.",
  "Add option": "Tambah opsi", "Save group": "Simpan grup",
  "Option {n} needs a name.": "Opsi {n} harus punya nama.",
  "Choices must be whole numbers: min 0 or more, max 1 or more.":
    "Jumlah pilihan harus bilangan bulat: minimum 0 atau lebih, maksimum 1 atau lebih.",
  "Min choices cannot be more than max choices.": "Pilihan minimum tidak boleh lebih dari pilihan maksimum.",
  "Min choices cannot be more than the number of options.": "Pilihan minimum tidak boleh lebih dari jumlah opsi.",
  "Remove {names} from “{group}”? Past orders keep them.":
    "Hapus {names} dari “{group}”? Pesanan lama tetap menyimpannya.",
  "Delete modifier group “{name}”?": "Hapus grup modifier “{name}”?",
  "Delete modifier group “{name}”? {products} will no longer offer it.":
    "Hapus grup modifier “{name}”? {products} tidak akan menawarkannya lagi.",
  "Modifier group “{name}” deleted. Publish to send it to the outlets.":
    "Grup modifier “{name}” dihapus. Terbitkan untuk mengirimnya ke outlet.",
};
