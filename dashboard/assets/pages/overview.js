// The first page: what an operator checks each morning. Per account, the last 24 hours'
// messages in and out and AI replies sent, skipped and failed, and the chats that need a person.

import { get, query, seg } from "../api.js";
import { h, link, paged, time } from "../dom.js";
import { chatName } from "../names.js";

const REASONS = { ai_failed: "AI reply failed", human_takeover: "a human is answering" };

function counts(a) {
  const n = (label, value, cls) => h("div", { class: `count ${cls || ""}` }, h("span", { class: "n" }, String(value)), h("span", {}, label));
  return h("div", { class: "counts", role: "group", "aria-label": `${a.name}, last 24 hours` },
    n("in", a.activity.messages_in), n("out", a.activity.messages_out),
    n("AI sent", a.activity.ai_sent, "ok"), n("AI skipped", a.activity.ai_skipped, "warn"),
    n("AI failed", a.activity.ai_failed, a.activity.ai_failed ? "bad" : ""));
}

function attention(a) {
  if (!a.attention.length) return h("p", { class: "empty" }, "No chat needs a person.");
  return h("ul", { class: "attention" }, a.attention.map((c) =>
    h("li", {},
      link(`/dashboard/accounts/${a.account_id}/chats/${seg(c.chat.chat_id)}`, chatName(c.chat)),
      " · ", c.reasons.map((r) => REASONS[r] || r).join(", "),
      c.chat.ai_paused_until ? [" until ", time(c.chat.ai_paused_until)] : null,
      c.ai_failed_at ? [" (failed ", time(c.ai_failed_at), ")"] : null)));
}

export function overview() {
  const list = paged(
    (cursor) => get(`/v1/overview${query({ limit: 20, cursor })}`),
    (items) => items.length
      ? h("div", { class: "cards" }, items.map((a) =>
          h("section", { class: "card", "aria-labelledby": `o-${a.account_id}` },
            h("h2", { id: `o-${a.account_id}` }, link(`/dashboard/accounts/${a.account_id}`, a.name), " ", h("small", { class: "hint" }, a.provider)),
            counts(a),
            h("h3", {}, "Needs a person"),
            attention(a))))
      : h("p", { class: "empty" }, "No accounts yet: create one under Accounts."),
  );
  return h("section", {}, h("h1", {}, "Overview"),
    h("p", { class: "hint" }, "The last 24 hours, by the hour."), list);
}
