// Indonesian for the floor plan page (pages/floor.js); the English is the key, as in i18n.js,
// which merges this table into its own (existing keys win).
export const ID = {
  "Floor plan": "Denah meja",
  "Floor plan of {outlet}": "Denah meja {outlet}",
  "Areas": "Area", "Area": "Area", "Add area": "Tambah area", "New area name": "Nama area baru",
  "Area name": "Nama area", "Delete area": "Hapus area",
  "Delete area “{name}” and its {count} tables?": "Hapus area “{name}” beserta {count} mejanya?",
  "Tables in {area}": "Meja di {area}", "Add table": "Tambah meja", "Table": "Meja",
  "Table name": "Nama meja", "Seats": "Kursi", "Shape": "Bentuk", "Rectangle": "Persegi",
  "Round": "Bundar", "Width": "Lebar", "Height": "Tinggi", "Left (0-1000)": "Kiri (0-1000)",
  "Top (0-1000)": "Atas (0-1000)", "In use": "Dipakai", "Delete table": "Hapus meja",
  "New QR code": "Kode QR baru",
  "{name}, {seats} seats, at {x}, {y}": "{name}, {seats} kursi, di {x}, {y}",
  "Select a table to edit it. Drag tables with the mouse, or focus one and move it with the arrow keys (Shift: faster).":
    "Pilih meja untuk mengubahnya. Geser meja dengan tetikus, atau fokuskan meja lalu pindahkan dengan tombol panah (Shift: lebih cepat).",
  "No areas yet: add one, then add its tables.": "Belum ada area: tambahkan satu, lalu tambahkan mejanya.",
  "Table service": "Layanan meja",
  "Service charge on dine-in only": "Biaya layanan hanya untuk makan di tempat",
  "Guest orders from the table's QR code": "Pesanan tamu dari kode QR meja",
  "Off": "Mati", "Straight to the kitchen": "Langsung ke dapur",
  "A waiter confirms first": "Pelayan mengonfirmasi dulu",
  "Courses, in firing order (comma-separated)": "Urutan hidangan (pisahkan dengan koma)",
  "Voids above this need a manager (0 = always)": "Pembatalan di atas nominal ini perlu manajer (0 = selalu)",
  "Guest page address on the outlet's network": "Alamat halaman tamu di jaringan outlet",
  "Empty = {url}": "Kosong = {url}",
  "Save floor plan": "Simpan denah", "Reload": "Muat ulang", "Unsaved changes": "Ada perubahan yang belum disimpan",
  "Version {version} · {time} · {who}": "Versi {version} · {time} · {who}",
  "Not saved yet": "Belum pernah disimpan",
  "Saved as version {version}. The outlet receives it at its next sync.":
    "Disimpan sebagai versi {version}. Outlet menerimanya pada sinkron berikutnya.",
  "Someone else saved this floor plan (version {version}). Reload it, then redo your change.":
    "Orang lain telah menyimpan denah ini (versi {version}). Muat ulang, lalu ulangi perubahan Anda.",
  "Discard your unsaved changes?": "Buang perubahan yang belum disimpan?",
  "Save your changes first.": "Simpan perubahan Anda dulu.",
  "Give table {name} a new QR code? Its printed sticker stops working.":
    "Beri meja {name} kode QR baru? Stiker yang sudah dicetak tidak berlaku lagi.",
  "Table {name} has a new QR code: print its sticker again.":
    "Meja {name} mendapat kode QR baru: cetak ulang stikernya.",
  "QR stickers": "Stiker QR", "Show QR stickers": "Tampilkan stiker QR", "Print": "Cetak",
  "Scan to see the menu and order": "Pindai untuk melihat menu dan memesan",
  "QR code for table {name}": "Kode QR untuk meja {name}",
  "No tables in use.": "Tidak ada meja yang dipakai.",
  "Could not load the floor plan: {error}": "Denah meja tidak dapat dimuat: {error}",
  "Course names use lowercase letters, digits and _ only: {name}":
    "Nama hidangan hanya boleh huruf kecil, angka dan _: {name}",
  "You may view this floor plan but not change it.": "Anda dapat melihat denah ini tetapi tidak dapat mengubahnya.",
  "Table {n}": "Meja {n}", "Tables": "Meja",
};
