// One account: its chats first (live: a chat that gets a message moves to the top), then its
// provider settings, connect, token rotation and AI overrides, folded away.

import { get, patch, post, put, query, seg } from "../api.js";
import { failure, field, form, h, input, link, shownOnce, time } from "../dom.js";
import { every } from "../live.js";
import { chatName, forgetAccounts } from "../names.js";
import { settingsForm, testChat } from "./ai.js";
import { providerConfig, providerFields } from "./accounts.js";

function details(account) {
  const out = h("div");
  const connect = h("button", { type: "button", onclick: async () => {
    try {
      const c = await post(`/v1/accounts/${account.id}/connect`);
      // Through h(), which leaves out what is absent (replaceChildren would write "null").
      out.replaceChildren(h("div", {}, h("p", { role: "status" }, c.connected ? "Connected. " : "Not connected. ", c.detail),
        c.webhook_url ? h("p", {}, "Webhook URL: ", h("code", {}, c.webhook_url)) : null,
        c.verify_token ? h("p", {}, "Verify token: ", h("code", {}, c.verify_token)) : null));
    } catch (e) {
      out.replaceChildren(failure(e));
    }
  } }, "Connect");
  const rotate = h("button", { type: "button", onclick: async () => {
    try {
      const t = await post(`/v1/accounts/${account.id}/token`);
      out.replaceChildren(shownOnce("The new token; the old one no longer works", t.token));
    } catch (e) {
      out.replaceChildren(failure(e));
    }
  } }, "Rotate token");
  const settings = form({ "aria-labelledby": "provider" },
    [h("h3", { id: "provider" }, "Name and provider settings"),
      field("Name", input("name", { value: account.name, required: true })),
      ...providerFields(account.provider, account.provider_config)],
    async (f) => {
      await patch(`/v1/accounts/${account.id}`, {
        name: f.elements.name.value, provider_config: providerConfig(account.provider, f),
      });
      forgetAccounts();
      return "Saved.";
    });
  return h("div", {},
    h("dl", { class: "facts" },
      h("dt", {}, "Id"), h("dd", {}, h("code", {}, account.id)),
      h("dt", {}, "Provider"), h("dd", {}, account.provider),
      account.provider === "relay" ? [h("dt", {}, "Phone last seen"), h("dd", {}, time(account.last_seen_at))] : null,
      h("dt", {}, "Created"), h("dd", {}, time(account.created_at))),
    h("div", { class: "actions" }, connect, rotate), out, settings);
}

/** A message in a line: who wrote, and what (or what kind of file). */
export function preview(m) {
  if (!m) return "—";
  const what = m.text ?? (m.media ? `(${m.media.kind})` : `(${m.status})`);
  return `${m.from_me ? "→ " : ""}${what}`;
}

/**
 * The account's chats, newest activity first, with each one's last message. Live: every few
 * seconds one request asks which chats moved since, and those move to the top.
 */
function chats(accountId) {
  const rows = new Map();
  const body = h("tbody");
  const more = h("div", { class: "pager" });
  const box = h("div", {}, h("div", { class: "scroll" }, h("table", { class: "chats", "aria-labelledby": "chats" },
    h("thead", {}, h("tr", {}, ["Chat", "Last message", "When", "AI"].map((c) => h("th", { scope: "col" }, c)))),
    body)), more);
  let since = null;

  const row = (c) => {
    const last = h("td", { class: "last" }, "…");
    const ai = c.opted_out_at ? "opted out" : c.blocked ? "blocked" : c.ai_paused_until && new Date(c.ai_paused_until) > new Date() ? "paused (a human is answering)" : c.ai_mode;
    const tr = h("tr", { "data-chat": c.chat_id },
      h("th", { scope: "row" }, link(`/dashboard/accounts/${accountId}/chats/${seg(c.chat_id)}`, chatName(c))),
      last, h("td", {}, time(c.last_message_at)), h("td", {}, ai));
    get(`/v1/accounts/${accountId}/chats/${seg(c.chat_id)}/messages?limit=1`)
      .then((page) => { last.textContent = preview(page.items[0]); })
      .catch(() => { last.textContent = "—"; });
    return tr;
  };
  const place = (c, top) => {
    const shown = rows.get(c.chat_id);
    if (top && shown && shown.dataset.at === (c.last_message_at || "")) return;
    const tr = row(c);
    tr.dataset.at = c.last_message_at || "";
    rows.get(c.chat_id)?.remove();
    rows.set(c.chat_id, tr);
    if (top) body.prepend(tr);
    else body.append(tr);
  };
  const older = async (cursor) => {
    const page = await get(`/v1/accounts/${accountId}/chats${query({ limit: 20, cursor })}`);
    for (const c of page.items) if (!rows.has(c.chat_id)) place(c, false);
    if (!since) since = newest(page.items);
    more.replaceChildren(...(page.next_cursor
      ? [h("button", { type: "button", onclick: () => older(page.next_cursor) }, "Older chats")]
      : []));
    if (!rows.size) body.replaceChildren(h("tr", {}, h("td", { colspan: 4, class: "empty" }, "No chats yet.")));
  };
  older(null).catch((e) => box.replaceChildren(failure(e)));
  every(box, async () => {
    // Two minutes back, and never past this browser's clock: a provider's time for a message
    // can be behind ours (a phone's backlog) or ahead; a chat seen again with the same
    // activity stays where it is.
    const from = since ? new Date(Math.min(Date.parse(since), Date.now()) - 120_000) : new Date(0);
    const moved = await get(`/v1/accounts/${accountId}/chats${query({ limit: 50, since: from.toISOString() })}`);
    if (!moved.items.length) return;
    if (!rows.size) body.replaceChildren();
    for (const c of [...moved.items].reverse()) place(c, true);
    since = newest(moved.items) || since;
  });
  return box;
}

/** The latest activity among chats (the next `since`). */
function newest(items) {
  return items.map((c) => c.last_message_at).filter(Boolean).sort().pop() || null;
}

export function account(id) {
  const page = h("section", {}, h("h1", {}, "Account"), h("p", {}, "Loading…"));
  Promise.all([get(`/v1/accounts/${id}`), get(`/v1/accounts/${id}/ai`), get("/v1/ai/global")])
    .then(([account, overrides, global]) => {
      document.title = `${account.name} · Switchboard`;
      page.replaceChildren(
        h("nav", { class: "crumbs", "aria-label": "breadcrumb" }, link("/dashboard/accounts", "Accounts"), " / "),
        h("h1", {}, account.name),
        h("section", { "aria-labelledby": "chats" }, h("h2", { id: "chats" }, "Chats"), chats(id)),
        h("details", { class: "fold" }, h("summary", {}, h("h2", {}, "Provider settings, connect and token")), details(account)),
        h("details", { class: "fold" }, h("summary", {}, h("h2", { id: "overrides" }, "AI overrides")),
          h("p", { class: "hint" }, "Empty fields inherit the global settings, shown in each field."),
          settingsForm(overrides, global, (body) => put(`/v1/accounts/${id}/ai`, body), "global")),
        h("details", { class: "fold" }, h("summary", {}, h("h2", {}, "Try the AI as this account")), testChat(id, null)),
      );
    })
    .catch((e) => page.append(failure(e)));
  return page;
}
