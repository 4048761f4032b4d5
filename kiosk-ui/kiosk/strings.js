// The kiosk's own strings (review step, start-over question, outage and held order,
// sold-out notice), added to common/i18n.js's table. Indonesian is the outlet's language.
import { addStrings } from "../common/i18n.js";

addStrings({
  en: {
    "k.review.title": "Check your order", "k.review.type": "Order type", "k.review.change": "Change",
    "k.review.edit": "Change order", "k.review.place": "Place order",
    "k.confirm.title": "Start over?", "k.confirm.text": "The {n} items in your order will be removed.",
    "k.confirm.yes": "Yes, empty my order", "k.confirm.no": "No, keep ordering",
    "k.offline": "This kiosk cannot reach the outlet's server right now, so orders cannot be sent. Please wait a moment or order at the counter.",
    "k.held.title": "Your order has not been sent yet",
    "k.held.text": "This kiosk cannot reach the outlet's server. We keep trying for {left}; after that this order is cancelled and will not be made.",
    "k.held.counter": "Order at the counter instead",
    "k.gone.title": "Your order was not sent",
    "k.gone.text": "It has been cancelled: it will not be made and you will not be charged. Please order at the counter.",
    "k.removed.title": "Sold out – removed from your order:", "k.removed.ok": "OK",
  },
  id: {
    "k.review.title": "Periksa pesanan Anda", "k.review.type": "Jenis pesanan", "k.review.change": "Ubah",
    "k.review.edit": "Ubah pesanan", "k.review.place": "Pesan sekarang",
    "k.confirm.title": "Mulai ulang?", "k.confirm.text": "{n} item di pesanan Anda akan dihapus.",
    "k.confirm.yes": "Ya, kosongkan pesanan", "k.confirm.no": "Tidak, lanjut pesan",
    "k.offline": "Kiosk ini sedang tidak terhubung ke server outlet, jadi pesanan belum bisa dikirim. Mohon tunggu sebentar atau pesan di kasir.",
    "k.held.title": "Pesanan Anda belum terkirim",
    "k.held.text": "Kiosk ini tidak bisa terhubung ke server outlet. Kami terus mencoba selama {left}; setelah itu pesanan ini dibatalkan dan tidak akan dibuat.",
    "k.held.counter": "Pesan di kasir saja",
    "k.gone.title": "Pesanan Anda tidak terkirim",
    "k.gone.text": "Pesanan ini sudah dibatalkan: tidak akan dibuat dan Anda tidak ditagih. Silakan pesan di kasir.",
    "k.removed.title": "Habis – dihapus dari pesanan Anda:", "k.removed.ok": "Mengerti",
  },
});
