// Building the page without innerHTML: every text from the API goes in as text, never as markup.

import { ApiError } from "./api.js";

/** An element: `h("a", {href: "/x", onclick: f}, "text", child)`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "for") el.htmlFor = v;
    else if (k === "value") el.value = v;
    else if (k === "checked" || k === "selected" || k === "disabled" || k === "hidden") el[k] = true;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let nextId = 0;

/**
 * A labelled field whose control is named like the API's field, so an error naming
 * `error.field` is shown beside it. `control` is an input, select or textarea element.
 */
export function field(label, control, hint) {
  const id = control.id || `f${++nextId}`;
  control.id = id;
  const error = h("p", { class: "error", id: `${id}-error`, "aria-live": "polite", hidden: true });
  const described = [error.id];
  let hintEl = null;
  if (hint) {
    hintEl = h("p", { class: "hint", id: `${id}-hint` }, hint);
    described.push(hintEl.id);
  }
  control.setAttribute("aria-describedby", described.join(" "));
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl, error);
}

export const input = (name, attrs = {}) => h("input", { name, type: "text", ...attrs });
export const textarea = (name, attrs = {}, text = "") => {
  const t = h("textarea", { name, rows: 4, ...attrs });
  t.value = text ?? "";
  return t;
};
export function select(name, options, current) {
  return h(
    "select",
    { name },
    options.map(([value, label]) => h("option", { value, selected: value === current }, label)),
  );
}

/**
 * A form that runs `submit(form)` and shows an API error beside the field it names, or above the
 * buttons when it names none. `submit` may return a message to show when it succeeds.
 */
export function form(attrs, children, submit, submitLabel = "Save") {
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const button = h("button", { type: "submit" }, submitLabel);
  const f = h("form", { novalidate: true, ...attrs }, children, h("div", { class: "actions" }, button), status);
  f.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(f);
    status.textContent = "";
    button.disabled = true;
    try {
      const said = await submit(f);
      if (said) status.textContent = said;
    } catch (e) {
      showError(f, e, status);
    } finally {
      button.disabled = false;
    }
  });
  return f;
}

export function clearErrors(f) {
  for (const p of f.querySelectorAll("p.error")) {
    p.textContent = "";
    p.hidden = true;
  }
  for (const c of f.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
  f.querySelector(".status")?.classList.remove("failed");
}

/** `error.field` may name a nested field (`provider_config.access_token`): its last part counts. */
export function showError(f, e, status) {
  if (!(e instanceof ApiError)) throw e;
  const names = e.field ? [e.field, e.field.split(".").pop(), e.field.split("[")[0]] : [];
  const control = names.map((n) => f.elements.namedItem(n)).find((c) => c && c.id);
  if (control) {
    const p = document.getElementById(`${control.id}-error`);
    p.textContent = e.message;
    p.hidden = false;
    control.setAttribute("aria-invalid", "true");
    control.focus();
  } else if (status) {
    status.textContent = `${e.message} (${e.code})`;
    status.classList.add("failed");
  }
}

/** A page-level message for an error outside any form. */
export function failure(e) {
  const text = e instanceof ApiError ? `${e.message} (${e.code})` : String(e);
  return h("p", { class: "failed", role: "alert" }, text);
}

/** A table with a caption: `columns` is `[[heading, row => cell], ...]`. */
export function table(caption, columns, rows, empty = "Nothing yet.") {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map(([name]) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(r)))))),
    ),
  );
}

/**
 * A list that pages with the API's cursors: `load(cursor)` answers `{items, next_cursor}`;
 * `render(items)` draws them. Earlier pages are remembered so "Previous" goes back.
 */
export function paged(load, render) {
  const box = h("div", { class: "paged" });
  const trail = [];
  let cursor = null;
  const show = async () => {
    let page;
    try {
      page = await load(cursor);
    } catch (e) {
      box.replaceChildren(failure(e));
      return;
    }
    const nav = h(
      "nav",
      { class: "pager", "aria-label": "pages" },
      trail.length
        ? h("button", { type: "button", onclick: () => { cursor = trail.pop(); show(); } }, "Previous")
        : null,
      page.next_cursor
        ? h("button", { type: "button", onclick: () => { trail.push(cursor); cursor = page.next_cursor; show(); } }, "Next")
        : null,
    );
    box.replaceChildren(render(page.items), nav);
  };
  box.reload = () => {
    trail.length = 0;
    cursor = null;
    return show();
  };
  show();
  return box;
}

export function time(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return h("time", { datetime: iso }, d.toLocaleString());
}

export const link = (href, text) => h("a", { href }, text);

/** A secret shown once, with a button to copy it. */
export function shownOnce(label, secret) {
  const code = h("code", { class: "secret" }, secret);
  return h(
    "div",
    { class: "once", role: "alert" },
    h("p", {}, `${label} (shown once: copy it now)`),
    code,
    h("button", { type: "button", onclick: () => navigator.clipboard?.writeText(secret) }, "Copy"),
  );
}
