// Floor plan editor: an outlet's areas and tables on a 0..1000 grid per area, its
// table-service settings, saving as a new version (a stale save is refused: reload), a new QR
// code per table, and the printable QR sticker sheet (A4, css/floor.css). Everything works
// with the keyboard: tables are buttons, arrow keys move the focused one (Shift: 50).
// The hub answers GET/PUT /outlets/{id}/floor, POST .../tables/{id}/rotate-token and
// GET .../floor/stickers (hub/api/floor.py).
import { ApiError, currentSession, get, post, put } from "../api.js";
import { field, h, mount, notice, selectField } from "../dom.js";
import { dateTime, moneyInput, parsePrice } from "../format.js";
import { lang, t } from "../i18n.js";
import { R, items } from "../routes.js";

const GRID = 1000;
const EDITORS = new Set(["owner", "hq_admin"]); // catalog:write (hub/identity.py)

function newId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function loadCss() {
  if (document.getElementById("floor-css")) return;
  document.head.append(h("link", { id: "floor-css", rel: "stylesheet", href: "/dashboard/css/floor.css" }));
}

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const areaName = (a) => (lang() === "id" && a.names?.id) || a.name;

export async function render(main) {
  loadCss();
  const role = currentSession()?.user?.role;
  const canEdit = EDITORS.has(role);
  const message = h("p", { role: "status", hidden: true });
  const outletSel = selectField(t("Outlet"), [], { name: "outlet" });
  const versionText = h("span", { class: "muted", dataset: { testid: "floor-version" } });
  const dirtyText = h("span", { class: "badge warn", hidden: true }, t("Unsaved changes"));
  const saveBtn = h("button", { type: "button", class: "primary", disabled: !canEdit }, t("Save floor plan"));
  const reloadBtn = h("button", { type: "button" }, t("Reload"));
  const stickersBtn = h("button", { type: "button" }, t("Show QR stickers"));
  const areaList = h("ul", { class: "cat-list", "aria-label": t("Areas") });
  const areaPanel = h("div");
  const canvas = h("div", { class: "floor-canvas", role: "group" });
  const tablePanel = h("div", { class: "floor-table-panel" });
  const settingsPanel = h("div");
  const sheet = h("section", { class: "sticker-sheet", hidden: true, "aria-labelledby": "h-stickers" });

  const state = { outlets: [], floor: null, areas: [], tables: [], areaId: null, tableId: null,
    dirty: false, currency: "IDR" };
  const outletId = () => outletSel.input.value;
  const outlet = () => state.outlets.find((o) => o.id === outletId());

  function say(text, kind = "ok") { notice(message, text, kind); }
  async function guard(fn) {
    notice(message, "");
    try { await fn(); } catch (err) { say(err.message, "error"); }
  }
  function markDirty() { state.dirty = true; dirtyText.hidden = false; }

  // ------------------------------------------------------------ loading
  async function load() {
    const floor = await get(R.floor(outletId()));
    state.floor = floor;
    state.areas = floor.areas.map((a) => ({ ...a, names: { ...(a.names || {}) } }));
    state.tables = floor.tables.map((x) => ({ ...x }));
    state.dirty = false;
    dirtyText.hidden = true;
    if (!state.areas.some((a) => a.id === state.areaId)) state.areaId = state.areas[0]?.id || null;
    state.tableId = null;
    state.currency = outlet()?.currency || "IDR";
    versionText.textContent = floor.version
      ? t("Version {version} · {time} · {who}", { version: floor.version, time: dateTime(floor.updated_at), who: floor.updated_by })
      : t("Not saved yet");
    sheet.hidden = true;
    drawAll();
  }

  function drawAll() { drawAreas(); drawCanvas(); drawTable(); drawSettings(); }

  // ------------------------------------------------------------ areas
  function drawAreas() {
    mount(areaList, state.areas.map((a) => h("li", {},
      h("button", {
        type: "button", "aria-pressed": String(a.id === state.areaId), dataset: { area: a.id },
        onclick: () => { state.areaId = a.id; state.tableId = null; drawAll(); },
      }, areaName(a), h("span", { class: "muted" }, ` · ${state.tables.filter((x) => x.area_id === a.id).length}`)))));
    const area = state.areas.find((a) => a.id === state.areaId);
    const children = [];
    if (area && canEdit) {
      const name = field(t("Area name"), { name: "area_name", value: area.name, maxlength: 40, required: true });
      const nameId = field(t("Name (Indonesian)"), { name: "area_name_id", value: area.names?.id || "", maxlength: 40 });
      name.input.addEventListener("input", () => { area.name = name.input.value; markDirty(); drawAreaButtons(); });
      nameId.input.addEventListener("input", () => {
        const v = nameId.input.value.trim();
        if (v) area.names.id = v; else delete area.names.id;
        markDirty(); drawAreaButtons();
      });
      const remove = h("button", { type: "button", class: "danger" }, t("Delete area"));
      remove.addEventListener("click", () => {
        const count = state.tables.filter((x) => x.area_id === area.id).length;
        if (count && !confirm(t("Delete area “{name}” and its {count} tables?", { name: area.name, count }))) return;
        state.areas = state.areas.filter((a) => a.id !== area.id);
        state.tables = state.tables.filter((x) => x.area_id !== area.id);
        state.areaId = state.areas[0]?.id || null;
        state.tableId = null;
        markDirty(); drawAll();
      });
      children.push(h("div", { class: "toolbar" }, name.wrap, nameId.wrap, remove));
    }
    if (canEdit) {
      const newName = field(t("New area name"), { name: "new_area", maxlength: 40 });
      children.push(h("form", {
        class: "inline", onsubmit: (e) => {
          e.preventDefault();
          const value = newName.input.value.trim();
          if (!value) return;
          const area = { id: newId(), name: value, names: {}, sort: state.areas.length };
          state.areas.push(area);
          state.areaId = area.id;
          state.tableId = null;
          newName.input.value = "";
          markDirty(); drawAll();
        },
      }, newName.wrap, h("button", { type: "submit" }, t("Add area"))));
    }
    mount(areaPanel, children);
  }

  function drawAreaButtons() {
    for (const button of areaList.querySelectorAll("button[data-area]")) {
      const a = state.areas.find((x) => x.id === button.dataset.area);
      if (!a) continue;
      button.firstChild.textContent = areaName(a);
      button.lastChild.textContent = ` · ${state.tables.filter((x) => x.area_id === a.id).length}`;
    }
  }

  // ------------------------------------------------------------ canvas
  function tableLabel(x) {
    return t("{name}, {seats} seats, at {x}, {y}", { name: x.name, seats: x.seats, x: x.x, y: x.y });
  }

  function place(el, x) {
    Object.assign(el.style, { left: `${x.x / 10}%`, top: `${x.y / 10}%`, width: `${x.width / 10}%`, height: `${x.height / 10}%` });
    el.setAttribute("aria-label", tableLabel(x));
  }

  function move(x, dx, dy) {
    x.x = clamp(Math.round((x.x + dx) / 10) * 10, 0, GRID - x.width);
    x.y = clamp(Math.round((x.y + dy) / 10) * 10, 0, GRID - x.height);
  }

  function tableButton(x) {
    const el = h("button", {
      type: "button", class: `floor-table ${x.shape}${x.active ? "" : " inactive"}`,
      "aria-pressed": String(x.id === state.tableId), dataset: { table: x.id },
    }, h("span", { class: "t-name" }, x.name), h("span", { class: "t-seats" }, `${x.seats}`));
    place(el, x);
    el.addEventListener("click", () => { if (state.tableId !== x.id) select(x.id); });
    if (!canEdit) return el;
    el.addEventListener("keydown", (e) => {
      const step = e.shiftKey ? 50 : 10;
      const delta = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[e.key];
      if (!delta) return;
      e.preventDefault();
      move(x, ...delta);
      place(el, x);
      markDirty();
      if (state.tableId === x.id) drawTable();
    });
    let drag = null;
    el.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      drag = { px: e.clientX, py: e.clientY, x: x.x, y: x.y, moved: false };
      el.setPointerCapture(e.pointerId);
    });
    el.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const scale = GRID / canvas.clientWidth;
      const dx = (e.clientX - drag.px) * scale;
      const dy = (e.clientY - drag.py) * scale;
      if (!drag.moved && Math.hypot(dx, dy) < 10) return;
      drag.moved = true;
      x.x = drag.x; x.y = drag.y;
      move(x, dx, dy);
      place(el, x);
    });
    const end = () => {
      if (drag?.moved) { markDirty(); if (state.tableId !== x.id) select(x.id); else drawTable(); }
      drag = null;
    };
    el.addEventListener("pointerup", end);
    el.addEventListener("pointercancel", end);
    return el;
  }

  function drawCanvas() {
    const area = state.areas.find((a) => a.id === state.areaId);
    canvas.setAttribute("aria-label", area ? t("Tables in {area}", { area: areaName(area) }) : t("Areas"));
    if (!area) {
      mount(canvas, h("p", { class: "floor-empty" }, t("No areas yet: add one, then add its tables.")));
      return;
    }
    mount(canvas, state.tables.filter((x) => x.area_id === area.id).map(tableButton));
  }

  function select(id) {
    state.tableId = id;
    for (const b of canvas.querySelectorAll("button[data-table]")) b.setAttribute("aria-pressed", String(b.dataset.table === id));
    drawTable();
  }

  function nextName() {
    const used = new Set(state.tables.map((x) => x.name.trim().toLowerCase()));
    for (let n = state.tables.length + 1; ; n += 1) if (!used.has(String(n))) return String(n);
  }

  function addTable() {
    const area = state.areas.find((a) => a.id === state.areaId);
    if (!area) return;
    const inArea = state.tables.filter((x) => x.area_id === area.id).length;
    const x = { id: newId(), area_id: area.id, name: nextName(), seats: 4, sort: state.tables.length,
      x: (inArea % 5) * 200 + 20, y: Math.min(Math.floor(inArea / 5) * 200 + 20, GRID - 120),
      width: 120, height: 120, shape: "rect", active: true, guest_token: "" };
    state.tables.push(x);
    markDirty();
    drawCanvas(); drawAreaButtons();
    select(x.id);
    canvas.querySelector(`button[data-table="${x.id}"]`)?.focus();
  }

  // ------------------------------------------------------------ the selected table
  function drawTable() {
    const x = state.tables.find((v) => v.id === state.tableId);
    const help = h("p", { class: "muted" }, t("Select a table to edit it. Drag tables with the mouse, or focus one and move it with the arrow keys (Shift: faster)."));
    const add = canEdit && state.areaId ? h("button", { type: "button", onclick: addTable }, t("Add table")) : null;
    if (!x) { mount(tablePanel, h("div", { class: "toolbar" }, add), help); return; }
    const redraw = () => {
      const el = canvas.querySelector(`button[data-table="${x.id}"]`);
      if (el) {
        place(el, x);
        el.className = `floor-table ${x.shape}${x.active ? "" : " inactive"}`;
        el.querySelector(".t-name").textContent = x.name;
        el.querySelector(".t-seats").textContent = `${x.seats}`;
      }
      heading.textContent = `${t("Table")} ${x.name}`;
    };
    const heading = h("h3", {}, `${t("Table")} ${x.name}`);
    const num = (label, key, min, max) => {
      const f = field(label, { type: "number", name: key, min, max, step: key === "seats" ? 1 : 10, value: x[key], disabled: !canEdit });
      f.input.addEventListener("change", () => {
        const v = Number(f.input.value);
        if (!Number.isFinite(v)) return;
        x[key] = clamp(Math.round(v), min, max);
        if (key === "width" || key === "height" || key === "x" || key === "y") move(x, 0, 0);
        f.input.value = x[key];
        markDirty(); redraw();
      });
      return f.wrap;
    };
    const name = field(t("Table name"), { name: "table_name", value: x.name, maxlength: 40, required: true, disabled: !canEdit });
    name.input.addEventListener("input", () => { x.name = name.input.value; markDirty(); redraw(); });
    const shape = selectField(t("Shape"), [["rect", t("Rectangle")], ["round", t("Round")]], { name: "shape", disabled: !canEdit });
    shape.input.value = x.shape;
    shape.input.addEventListener("change", () => { x.shape = shape.input.value; markDirty(); redraw(); });
    const area = selectField(t("Area"), state.areas.map((a) => [a.id, areaName(a)]), { name: "table_area", disabled: !canEdit });
    area.input.value = x.area_id;
    area.input.addEventListener("change", () => { x.area_id = area.input.value; state.areaId = x.area_id; markDirty(); drawAll(); });
    const activeId = `active-${x.id}`;
    const active = h("input", { type: "checkbox", id: activeId, name: "active", checked: x.active, disabled: !canEdit });
    active.addEventListener("change", () => { x.active = active.checked; markDirty(); redraw(); });
    const actions = [];
    if (canEdit) {
      actions.push(h("button", {
        type: "button", class: "danger", onclick: () => {
          state.tables = state.tables.filter((v) => v.id !== x.id);
          state.tableId = null;
          markDirty(); drawCanvas(); drawTable(); drawAreaButtons();
        },
      }, t("Delete table")));
      if (x.guest_token) {
        actions.push(h("button", {
          type: "button", onclick: () => guard(async () => {
            if (state.dirty) throw new Error(t("Save your changes first."));
            if (!confirm(t("Give table {name} a new QR code? Its printed sticker stops working.", { name: x.name }))) return;
            await post(R.floorRotate(outletId(), x.id));
            const keep = state.tableId;
            await load();
            select(keep);
            say(t("Table {name} has a new QR code: print its sticker again.", { name: x.name }));
          }),
        }, t("New QR code")));
      }
    }
    mount(tablePanel,
      h("div", { class: "toolbar" }, add),
      heading,
      h("div", { class: "toolbar" }, name.wrap, num(t("Seats"), "seats", 1, 99), shape.wrap, area.wrap),
      h("div", { class: "toolbar" }, num(t("Left (0-1000)"), "x", 0, GRID), num(t("Top (0-1000)"), "y", 0, GRID),
        num(t("Width"), "width", 10, GRID), num(t("Height"), "height", 10, GRID),
        h("div", { class: "field check" }, active, h("label", { for: activeId }, t("In use")))),
      h("div", { class: "row-actions" }, actions));
  }

  // ------------------------------------------------------------ settings
  const settings = {};
  function drawSettings() {
    const f = state.floor;
    const sc = h("input", { type: "checkbox", id: "floor-sc", name: "service_charge_dine_in_only", checked: f.service_charge_dine_in_only, disabled: !canEdit });
    const guest = selectField(t("Guest orders from the table's QR code"),
      [["off", t("Off")], ["kitchen", t("Straight to the kitchen")], ["confirm", t("A waiter confirms first")]],
      { name: "guest_orders", disabled: !canEdit });
    guest.input.value = f.guest_orders;
    const courses = field(t("Courses, in firing order (comma-separated)"), { name: "courses", value: f.courses.join(", "), maxlength: 400, disabled: !canEdit });
    const threshold = field(t("Voids above this need a manager (0 = always)"), {
      name: "void_approval_threshold", inputmode: "decimal", value: moneyInput(f.void_approval_threshold, state.currency), disabled: !canEdit });
    const base = field(t("Guest page address on the outlet's network"), {
      name: "guest_base_url", type: "url", value: f.guest_base_url, maxlength: 200,
      placeholder: f.default_guest_base_url, disabled: !canEdit });
    for (const el of [sc, guest.input, courses.input, threshold.input, base.input]) el.addEventListener("input", markDirty);
    sc.addEventListener("change", markDirty);
    Object.assign(settings, { sc, guest: guest.input, courses: courses.input, threshold: threshold.input, base: base.input });
    mount(settingsPanel,
      h("div", { class: "toolbar" },
        h("div", { class: "field check" }, sc, h("label", { for: "floor-sc" }, t("Service charge on dine-in only"))),
        guest.wrap, courses.wrap, threshold.wrap),
      h("div", { class: "toolbar" }, base.wrap,
        h("span", { class: "muted" }, t("Empty = {url}", { url: f.default_guest_base_url }))));
  }

  function body() {
    const courses = settings.courses.value.split(",").map((c) => c.trim()).filter(Boolean);
    for (const c of courses) if (!/^[a-z0-9_]+$/.test(c)) throw new Error(t("Course names use lowercase letters, digits and _ only: {name}", { name: c }));
    return {
      version: state.floor.version,
      areas: state.areas.map((a, i) => ({ id: a.id, name: a.name.trim(), names: a.names || {}, sort: i })),
      tables: state.tables.map((x, i) => ({ id: x.id, area_id: x.area_id, name: x.name.trim(), seats: x.seats,
        sort: i, x: x.x, y: x.y, width: x.width, height: x.height, shape: x.shape, active: x.active })),
      service_charge_dine_in_only: settings.sc.checked, guest_orders: settings.guest.value, courses,
      void_approval_threshold: parsePrice(settings.threshold.value || "0", state.currency),
      guest_base_url: settings.base.value.trim(),
    };
  }

  saveBtn.addEventListener("click", () => guard(async () => {
    try {
      const saved = await put(R.floor(outletId()), body());
      const keep = [state.areaId, state.tableId];
      await load();
      state.areaId = keep[0]; drawAll();
      if (keep[1]) select(keep[1]);
      say(t("Saved as version {version}. The outlet receives it at its next sync.", { version: saved.version }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && err.code === "conflict") {
        throw new Error(t("Someone else saved this floor plan (version {version}). Reload it, then redo your change.",
          { version: err.details?.version ?? "?" }));
      }
      throw err;
    }
  }));
  reloadBtn.addEventListener("click", () => guard(async () => {
    if (state.dirty && !confirm(t("Discard your unsaved changes?"))) return;
    await load();
  }));

  // ------------------------------------------------------------ stickers
  stickersBtn.addEventListener("click", () => guard(async () => {
    const data = await get(R.floorStickers(outletId()));
    const cards = data.items.map((s) => h("figure", { class: "sticker", dataset: { table: s.table_id } },
      h("div", { class: "s-outlet" }, data.outlet_name),
      h("div", { class: "s-table" }, t("Table {n}", { n: s.name })),
      h("img", { src: s.qr, alt: t("QR code for table {name}", { name: s.name }), width: 160, height: 160 }),
      h("figcaption", {}, t("Scan to see the menu and order"), h("small", {}, s.area))));
    mount(sheet,
      h("div", { class: "toolbar no-print" },
        h("h3", { id: "h-stickers" }, t("QR stickers")),
        h("button", { type: "button", class: "primary", onclick: () => window.print() }, t("Print"))),
      cards.length ? h("div", { class: "sticker-grid" }, cards) : h("p", {}, t("No tables in use.")));
    sheet.hidden = false;
    sheet.scrollIntoView({ block: "start" });
  }));

  // ------------------------------------------------------------ page
  outletSel.input.addEventListener("change", () => guard(async () => {
    if (state.dirty && !confirm(t("Discard your unsaved changes?"))) {
      outletSel.input.value = state.floor.outlet_id;
      return;
    }
    await load();
  }));

  mount(main,
    h("div", { class: "floor-editor" },
      h("h2", {}, t("Floor plan")),
      message,
      canEdit ? null : h("p", { class: "notice info" }, t("You may view this floor plan but not change it.")),
      h("div", { class: "toolbar" }, outletSel.wrap, saveBtn, reloadBtn, stickersBtn, versionText, dirtyText),
      h("div", { class: "menu-layout" },
        h("section", { class: "card", "aria-labelledby": "h-areas" }, h("h3", { id: "h-areas" }, t("Areas")), areaList, areaPanel),
        h("section", { class: "card", "aria-labelledby": "h-floor" },
          h("h3", { id: "h-floor" }, t("Tables")),
          canvas, tablePanel)),
      h("section", { class: "card", "aria-labelledby": "h-service" }, h("h3", { id: "h-service" }, t("Table service")), settingsPanel)),
    sheet);

  try {
    state.outlets = items(await get(R.outlets));
    mount(outletSel.input, state.outlets.map((o) => h("option", { value: o.id }, o.name)));
    if (state.outlets.length) await load();
    else say(t("No outlets yet."), "info");
  } catch (err) {
    say(t("Could not load the floor plan: {error}", { error: err.message }), "error");
  }
  const beforeUnload = (e) => { if (state.dirty) { e.preventDefault(); e.returnValue = ""; } };
  window.addEventListener("beforeunload", beforeUnload);
  return () => window.removeEventListener("beforeunload", beforeUnload);
}
