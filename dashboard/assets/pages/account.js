// One account: its provider settings, connect, token rotation, its AI overrides (with what each
// inherits from the global level), and its chats.

import { get, patch, post, put, query, seg } from "../api.js";
import { failure, field, form, h, input, link, paged, shownOnce, table, time } from "../dom.js";
import { settingsForm, testChat } from "./ai.js";
import { providerConfig, providerFields } from "./accounts.js";

function details(account) {
  const out = h("div");
  const connect = h("button", { type: "button", onclick: async () => {
    try {
      const c = await post(`/v1/accounts/${account.id}/connect`);
      out.replaceChildren(h("p", { role: "status" }, c.connected ? "Connected. " : "Not connected. ", c.detail),
        c.webhook_url ? h("p", {}, "Webhook URL: ", h("code", {}, c.webhook_url)) : null,
        c.verify_token ? h("p", {}, "Verify token: ", h("code", {}, c.verify_token)) : null);
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
    [h("h2", { id: "provider" }, "Name and provider settings"),
      field("Name", input("name", { value: account.name, required: true })),
      ...providerFields(account.provider, account.provider_config)],
    async (f) => {
      await patch(`/v1/accounts/${account.id}`, {
        name: f.elements.name.value, provider_config: providerConfig(account.provider, f),
      });
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

/** Each chat with its last message (the newest of its messages). */
function chats(accountId) {
  return paged(
    (cursor) => get(`/v1/accounts/${accountId}/chats${query({ limit: 20, cursor })}`),
    (items) => {
      const rows = table("Chats", [
        ["Chat", (c) => link(`/dashboard/accounts/${accountId}/chats/${seg(c.chat_id)}`, c.name || c.chat_id)],
        ["Last message", (c) => h("span", { "data-last": c.chat_id }, "…")],
        ["When", (c) => time(c.last_message_at)],
        ["AI", (c) => c.ai_mode + (c.ai_paused_until ? " (paused)" : "")],
        ["Blocked", (c) => (c.blocked ? "yes" : "no")],
      ], items, "No chats yet.");
      for (const c of items) {
        get(`/v1/accounts/${accountId}/chats/${seg(c.chat_id)}/messages?limit=1`).then((page) => {
          const m = page.items[0];
          const cell = [...rows.querySelectorAll("[data-last]")].find((e) => e.dataset.last === c.chat_id);
          if (cell) cell.textContent = m ? `${m.from_me ? "→ " : ""}${m.text ?? `(${m.status})`}` : "—";
        }).catch(() => {});
      }
      return rows;
    },
  );
}

export function account(id) {
  const page = h("section", {}, h("h1", {}, "Account"), h("p", {}, "Loading…"));
  Promise.all([get(`/v1/accounts/${id}`), get(`/v1/accounts/${id}/ai`), get("/v1/ai/global")])
    .then(([account, overrides, global]) => {
      page.replaceChildren(
        h("p", {}, link("/dashboard/accounts", "Accounts"), " / "),
        h("h1", {}, account.name),
        details(account),
        h("section", { "aria-labelledby": "overrides" }, h("h2", { id: "overrides" }, "AI overrides"),
          h("p", { class: "hint" }, "Empty fields inherit the global settings, shown in each field."),
          settingsForm(overrides, global, (body) => put(`/v1/accounts/${id}/ai`, body), "global")),
        testChat(id, null),
        h("section", { "aria-labelledby": "chats" }, h("h2", { id: "chats" }, "Chats"), chats(id)),
      );
    })
    .catch((e) => page.append(failure(e)));
  return page;
}
