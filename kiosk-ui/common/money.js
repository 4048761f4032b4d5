// Money on screen: IDR as people write it ("Rp 25.000") and a client-side copy of
// shared/pricing.py so the cart shows a running total with service and tax before the edge
// prices the order. The edge's figures always win once it answers. Integers only; BigInt
// keeps basis-point products exact for any amount.

const EXPONENT = { IDR: 0, JPY: 0, VND: 0, KRW: 0 };

/** 25000 -> "Rp 25.000"; 1250 USD -> "USD 12.50". */
export function formatMoney(amount, currency = "IDR") {
  const exp = EXPONENT[currency] ?? 2;
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  const whole = exp ? Math.floor(abs / 10 ** exp) : abs;
  const minor = exp ? String(abs % 10 ** exp).padStart(exp, "0") : "";
  if (currency === "IDR") return `${sign}Rp ${groupThousands(whole, ".")}`;
  return `${sign}${currency} ${groupThousands(whole, ",")}${exp ? "." + minor : ""}`;
}

function groupThousands(n, sep) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, sep);
}

/** numerator / denominator rounded half away from zero (BigInt in, BigInt out). */
function roundHalfUpDiv(num, den) {
  const sign = num < 0n ? -1n : 1n;
  const abs = num < 0n ? -num : num;
  let q = abs / den;
  if ((abs % den) * 2n >= den) q += 1n;
  return sign * q;
}

function roundToUnit(amount, unit) {
  if (unit <= 1n) return amount;
  return roundHalfUpDiv(amount, unit) * unit;
}

const BASIS = 10000n;

/**
 * Same rules as shared/pricing.price_order.
 * lines: [{price, deltas: [int], qty}], tax: Catalog.tax, discount: int.
 */
export function priceOrder(lines, tax, discount = 0) {
  const lineTotals = lines.map((l) => {
    const unit = Math.max(0, l.price + (l.deltas ?? []).reduce((a, b) => a + b, 0));
    return unit * l.qty;
  });
  const subtotal = lineTotals.reduce((a, b) => a + b, 0);
  const applied = Math.min(Math.max(discount, 0), subtotal);
  const net = BigInt(subtotal - applied);
  const svc = BigInt(tax?.service_rate_bp ?? 0);
  const rate = BigInt(tax?.tax_rate_bp ?? 0);
  let service, taxAmount, before;
  if (tax?.prices_include_tax) {
    // Same two-step split as shared/pricing.py: tax first, then service, remainders kept.
    const beforeTax = roundHalfUpDiv(net * BASIS, BASIS + rate);
    taxAmount = net - beforeTax;
    service = beforeTax - roundHalfUpDiv(beforeTax * BASIS, BASIS + svc);
    before = net;
  } else {
    service = roundHalfUpDiv(net * svc, BASIS);
    taxAmount = roundHalfUpDiv((net + service) * rate, BASIS);
    before = net + service + taxAmount;
  }
  const total = roundToUnit(before, BigInt(tax?.rounding_unit ?? 1));
  return {
    lineTotals, subtotal, discount: applied,
    serviceCharge: Number(service), tax: Number(taxAmount),
    rounding: Number(total - before), total: Number(total),
  };
}
