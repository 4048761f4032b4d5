// The catalog as screens use it: indexes by id, what a product sheet must enforce (modifier
// group min/max), and cart lines that know their price. Shared by the kiosk and the cashier's
// counter order so both apply the same rules the edge will check again.
import { priceOrder } from "./money.js";

export class Menu {
  constructor(catalog) {
    this.catalog = catalog;
    this.currency = catalog.currency || "IDR";
    this.tax = catalog.tax || {};
    this.categories = [...(catalog.categories || [])].sort((a, b) => (a.sort - b.sort) || a.name.localeCompare(b.name));
    this.products = new Map((catalog.products || []).map((p) => [p.id, p]));
    this.groups = new Map((catalog.modifier_groups || []).map((g) => [g.id, g]));
    this.options = new Map();
    for (const g of this.groups.values()) for (const o of g.options || []) this.options.set(o.id, { ...o, group_id: g.id });
  }
  productsIn(categoryId) {
    return [...this.products.values()].filter((p) => p.category_id === categoryId)
      .sort((a, b) => (a.sort - b.sort) || a.name.localeCompare(b.name));
  }
  groupsOf(product) { return (product.modifier_group_ids || []).map((id) => this.groups.get(id)).filter(Boolean); }
  setAvailable(productId, available) {
    const p = this.products.get(productId);
    if (p) p.available = available;
  }
  /** Groups whose choice count is outside [min, max] for this selection (array of option ids). */
  unmetGroups(product, selected) {
    return this.groupsOf(product).filter((g) => {
      const n = selected.filter((id) => this.options.get(id)?.group_id === g.id).length;
      return n < (g.min_choices ?? 0) || n > (g.max_choices ?? 1);
    });
  }
  unitPrice(line) {
    const p = this.products.get(line.product_id);
    const deltas = line.modifiers.map((id) => this.options.get(id)?.price_delta ?? 0);
    return Math.max(0, (p?.price ?? 0) + deltas.reduce((a, b) => a + b, 0));
  }
  /** Running totals for cart lines [{product_id, qty, modifiers}] with the outlet's tax rules. */
  totals(lines) {
    return priceOrder(lines.map((l) => ({
      price: this.products.get(l.product_id)?.price ?? 0,
      deltas: l.modifiers.map((id) => this.options.get(id)?.price_delta ?? 0),
      qty: l.qty,
    })), this.tax);
  }
  /** Lines the cart holds that are no longer orderable (sold out since they were added). */
  unavailableLines(lines) {
    return lines.filter((l) => {
      const p = this.products.get(l.product_id);
      return !p || p.available === false || l.modifiers.some((id) => this.options.get(id)?.available === false);
    });
  }
}

/** Hint text for a modifier group ("Choose 1", "Choose up to 3"…). */
export function groupHint(group, t) {
  const min = group.min_choices ?? 0, max = group.max_choices ?? 1;
  if (min === max) return t("sheet.choose_exactly", { n: min });
  if (min === 0) return t("sheet.choose_up_to", { max });
  return t("sheet.choose_range", { min, max });
}

/** Toggle an option in a selection respecting the group's max (single choice swaps). */
export function toggleOption(menu, selected, optionId) {
  const opt = menu.options.get(optionId);
  if (!opt) return selected;
  if (selected.includes(optionId)) return selected.filter((id) => id !== optionId);
  const group = menu.groups.get(opt.group_id);
  const inGroup = selected.filter((id) => menu.options.get(id)?.group_id === group.id);
  const max = group.max_choices ?? 1;
  if (max === 1) return [...selected.filter((id) => !inGroup.includes(id)), optionId];
  if (inGroup.length >= max) return selected; // full: the UI disables further options
  return [...selected, optionId];
}

/** Canonical order body line. */
export function toOrderLine(line) {
  const out = { product_id: line.product_id, qty: line.qty, modifiers: [...line.modifiers] };
  if (line.note) out.note = line.note;
  return out;
}
