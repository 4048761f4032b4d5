// The hub API paths the dashboard uses, in one place (see hub/api/*.py for the handlers).
export const R = {
  me: "/me",
  fleet: "/fleet",
  outlets: "/outlets",
  outlet: (id) => `/outlets/${encodeURIComponent(id)}`,
  enrollmentCodes: (id) => `/outlets/${encodeURIComponent(id)}/enrollment-codes`,
  users: "/users",
  user: (id) => `/users/${encodeURIComponent(id)}`,
  staff: "/staff",
  staffMember: (id) => `/staff/${encodeURIComponent(id)}`,
  brands: "/brands",
  categories: "/catalog/categories",
  category: (id) => `/catalog/categories/${encodeURIComponent(id)}`,
  products: "/catalog/products",
  product: (id) => `/catalog/products/${encodeURIComponent(id)}`,
  modifierGroups: "/catalog/modifier-groups",
  modifierGroup: (id) => `/catalog/modifier-groups/${encodeURIComponent(id)}`,
  outletPrices: (outletId) => `/outlets/${encodeURIComponent(outletId)}/prices`,
  outletPrice: (outletId, productId) =>
    `/outlets/${encodeURIComponent(outletId)}/prices/${encodeURIComponent(productId)}`,
  outletAvailability: (outletId) => `/outlets/${encodeURIComponent(outletId)}/availability`,
  outletProductAvailability: (outletId, productId) =>
    `/outlets/${encodeURIComponent(outletId)}/availability/${encodeURIComponent(productId)}`,
  publish: (brandId) => `/brands/${encodeURIComponent(brandId)}/publish`,
  versions: (brandId) => `/brands/${encodeURIComponent(brandId)}/catalog-versions`,
  salesReport: "/reports/sales",
  tablesReport: "/reports/tables",
  paymentsReport: "/reports/payments",
  reconciliation: "/reports/payments/reconciliation",
  audit: "/audit",
  floor: (outletId) => `/outlets/${encodeURIComponent(outletId)}/floor`,
  floorRotate: (outletId, tableId) =>
    `/outlets/${encodeURIComponent(outletId)}/floor/tables/${encodeURIComponent(tableId)}/rotate-token`,
  floorStickers: (outletId) => `/outlets/${encodeURIComponent(outletId)}/floor/stickers`,
};

/** List endpoints answer {"items": [...]}; accept a bare array too. */
export function items(data) {
  return Array.isArray(data) ? data : (data && data.items) || [];
}
