// One chat: the conversation, the gear (AI mode and custom prompt), block, the effective AI
// configuration with the level each value comes from, and a pause by a human.

import { get, put, query, seg } from "../api.js";
import { failure, field, form, h, link, paged, select, textarea, time } from "../dom.js";

function conversation(base) {
  return paged(
    (cursor) => get(`${base}/messages${query({ limit: 30, cursor })}`),
    (items) =>
      items.length
        ? h("ol", { class: "conversation", "aria-label": "messages, oldest first" },
            [...items].reverse().map((m) =>
              h("li", { class: m.from_me ? "me" : "them" },
                m.text ?? "(no text)",
                h("small", {}, " ", time(m.created_at), ` · ${m.origin} · ${m.status}`, m.error ? ` · ${m.error}` : ""))))
        : h("p", { class: "empty" }, "No messages yet."),
  );
}

function effective(base) {
  const box = h("div", {}, "Loading…");
  box.reload = () =>
    get(`${base}/ai/effective`)
      .then((e) => {
        const rows = Object.entries(e).filter(([, v]) => v && typeof v === "object" && "source" in v);
        box.replaceChildren(
          h("p", { class: e.would_reply ? "ok" : "warn" },
            e.would_reply ? "A message here would be answered now." : `A message here would not be answered: ${e.reason}.`),
          h("div", { class: "scroll" }, h("table", {}, h("caption", {}, "In force here"),
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Setting"), h("th", { scope: "col" }, "Value"), h("th", { scope: "col" }, "Level"))),
            h("tbody", {}, rows.map(([name, v]) => h("tr", {}, h("th", { scope: "row" }, name),
              h("td", {}, typeof v.value === "boolean" ? (v.value ? "yes" : "no") : String(v.value ?? "—")),
              h("td", {}, h("span", { class: `level ${v.source}` }, v.source))))))),
        );
      })
      .catch((e) => box.replaceChildren(failure(e)));
  box.reload();
  return box;
}

function gear(base, ai, after) {
  const paused = h("p", { class: "paused" }, ai.ai_paused_until ? ["AI paused by a human until ", time(ai.ai_paused_until), ". Saving resumes it."] : "");
  const f = form({ "aria-label": "AI settings for this chat" },
    [field("AI mode", select("mode", [["inherit", "inherit (the account's setting)"], ["enabled", "always on"], ["disabled", "off"]], ai.mode)),
      field("Custom system prompt", textarea("custom_system_prompt", {}, ai.custom_system_prompt), "Used instead of the default prompt in this chat.")],
    async (f) => {
      const saved = await put(`${base}/ai`, {
        mode: f.elements.mode.value, custom_system_prompt: f.elements.custom_system_prompt.value.trim() || null,
      });
      paused.replaceChildren(saved.ai_paused_until ? ["AI paused by a human until ", time(saved.ai_paused_until)] : "");
      after();
      return "Saved.";
    });
  return h("details", { class: "gear" }, h("summary", {}, h("span", { "aria-hidden": "true" }, "⚙ "), "AI settings for this chat"), paused, f);
}

function blocker(base, blocked, after) {
  const f = form({ "aria-label": "Block" },
    [h("div", { class: "check" }, h("input", { type: "checkbox", name: "blocked", id: "blocked", checked: blocked }),
      h("label", { for: "blocked" }, "Blocked (messages are stored, never answered)"))],
    async (f) => {
      await put(`${base}/block`, { blocked: f.elements.blocked.checked });
      after();
      return f.elements.blocked.checked ? "Blocked." : "Unblocked.";
    });
  return f;
}

/** The chat's own row of the account's chat list (there is no single-chat read). */
async function findChat(accountId, chatId) {
  let cursor = null;
  for (let i = 0; i < 10; i++) {
    const page = await get(`/v1/accounts/${accountId}/chats${query({ limit: 200, cursor })}`);
    const found = page.items.find((c) => c.chat_id === chatId);
    if (found || !page.next_cursor) return found;
    cursor = page.next_cursor;
  }
  return undefined;
}

export function chat(accountId, chatId) {
  const base = `/v1/accounts/${accountId}/chats/${seg(chatId)}`;
  const page = h("section", {}, h("h1", {}, chatId), h("p", {}, "Loading…"));
  Promise.all([get(`${base}/ai`), findChat(accountId, chatId)])
    .then(([ai, row]) => {
      const inForce = effective(base);
      page.replaceChildren(
        h("p", {}, link("/dashboard/accounts", "Accounts"), " / ", link(`/dashboard/accounts/${accountId}`, "Account"), " / "),
        h("h1", {}, row?.name ? `${row.name} (${chatId})` : chatId),
        gear(base, ai, () => inForce.reload()),
        blocker(base, Boolean(row?.blocked), () => inForce.reload()),
        h("section", { "aria-labelledby": "effective" }, h("h2", { id: "effective" }, "Effective AI configuration"), inForce),
        h("section", { "aria-labelledby": "messages" }, h("h2", { id: "messages" }, "Conversation"), conversation(base)),
      );
    })
    .catch((e) => page.append(failure(e)));
  return page;
}
