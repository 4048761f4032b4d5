// Tiny DOM helpers: build elements from data without innerHTML, so names typed by
// users (products, outlets) can never inject markup.

/** Create an element: h("button", {class: "primary", onclick: fn}, "Save"). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace everything inside `el` with `children`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idCounter = 0;
/** A unique id for label/input pairs. */
export function uid(prefix = "f") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form field; returns {wrap, input}. */
export function field(label, inputAttrs = {}, tag = "input") {
  const id = inputAttrs.id || uid();
  const input = h(tag, { ...inputAttrs, id });
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), input);
  return { wrap, input };
}

/** A labelled <select> with [value, text] options. */
export function selectField(label, options, attrs = {}) {
  const id = attrs.id || uid();
  const input = h("select", { ...attrs, id },
    options.map(([value, text]) => h("option", { value }, text)));
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), input);
  return { wrap, input };
}

/** Show a status message in a live region (screen readers announce it). */
export function notice(el, message, kind = "info") {
  el.className = `notice ${kind}`;
  el.textContent = message;
  el.hidden = !message;
}
