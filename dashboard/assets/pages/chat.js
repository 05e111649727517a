// One chat, as an operator's inbox: the conversation first (newest at the bottom, older on
// scroll, live), a composer that answers as the account and takes over from the AI, and the
// chat's settings (the gear, block, opt-out, the AI configuration in force) beside it.

import { ApiError, get, post, put, query, seg } from "../api.js";
import { failure, field, form, h, link, select, textarea, time } from "../dom.js";
import { every } from "../live.js";
import { chatName } from "../names.js";

const ORIGIN = { contact: "customer", ai: "AI", account_human: "human", api: "API" };
const PAGE = 30;
/** The newest messages the first read of a chat returns (its `changes` without `since`). */
const FIRST = 50;

/** What a medium shows: a voice note's transcript, a photo's description, a file's name. */
function medium(media) {
  const kind = { audio: "Voice note", image: "Photo", video: "Video", document: "Document", sticker: "Sticker" }[media.kind] || media.kind;
  const parts = [h("p", { class: "medium" }, kind,
    media.filename ? ` · ${media.filename}` : "",
    media.duration_seconds ? ` · ${media.duration_seconds} s` : "")];
  if (media.transcript) parts.push(h("p", { class: "transcript" }, h("span", { class: "label" }, "Transcript: "), media.transcript));
  if (media.description) parts.push(h("p", { class: "transcript" }, h("span", { class: "label" }, "What the AI saw: "), media.description));
  if (media.status === "pending") parts.push(h("p", { class: "hint" }, "Not read yet."));
  if (media.error) parts.push(h("p", { class: "hint" }, `Not understood: ${media.error}`));
  return parts;
}

function bubble(m) {
  const failed = m.status === "failed";
  return h("li", { class: `${m.from_me ? "me" : "them"} ${m.origin}${failed ? " failed-send" : ""}`, "data-id": m.id },
    m.media ? medium(m.media) : null,
    m.text ? h("p", { class: "text" }, m.text) : m.media ? null : h("p", { class: "hint" }, "(no text)"),
    failed && m.error ? h("p", { class: "error", role: "note" }, `Not sent: ${m.error}`, m.error_code ? ` (${m.error_code})` : "") : null,
    h("small", {}, time(m.created_at), ` · ${ORIGIN[m.origin] || m.origin} · `, h("span", { class: `badge ${m.status}` }, m.status)));
}

/**
 * The conversation: messages by id (ids sort by time), each replaced in place when it changes.
 * Older pages load when the operator scrolls to the top.
 */
function thread(base) {
  const shown = new Map();
  const list = h("ol", { class: "conversation", "aria-label": "messages, oldest first", "aria-live": "polite" });
  const older = h("button", { type: "button", class: "older", hidden: true }, "Older messages");
  const box = h("div", { class: "thread", tabindex: "0", role: "region", "aria-label": "scrollable messages" }, older, list);
  const empty = h("p", { class: "empty" }, "No messages yet.");
  let oldest = null;
  let done = false;

  const atBottom = () => box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const place = (m) => {
    const li = bubble(m);
    const before = shown.get(m.id);
    shown.set(m.id, li);
    if (before) return before.replaceWith(li);
    const next = [...shown.keys()].filter((id) => id > m.id).sort()[0];
    const after = next && shown.get(next);
    if (after?.isConnected) list.insertBefore(li, after);
    else list.append(li);
  };
  const apply = (messages) => {
    if (!messages.length) return;
    const stick = atBottom();
    empty.remove();
    for (const m of messages) place(m);
    if (!oldest) oldest = messages[0].id;
    if (stick) box.scrollTop = box.scrollHeight;
  };
  const loadOlder = async () => {
    if (done || !oldest) return;
    older.disabled = true;
    try {
      const height = box.scrollHeight;
      const page = await get(`${base}/messages${query({ limit: PAGE, before: oldest })}`);
      for (const m of page.items) place(m);
      if (page.items.length) oldest = page.items[page.items.length - 1].id;
      done = !page.next_cursor;
      older.hidden = done;
      box.scrollTop += box.scrollHeight - height;
    } finally {
      older.disabled = false;
    }
  };
  older.addEventListener("click", () => loadOlder().catch(() => {}));
  new IntersectionObserver((seen) => {
    if (seen.some((e) => e.isIntersecting) && !older.hidden && !older.disabled) loadOlder().catch(() => {});
  }, { root: box }).observe(older);
  return {
    el: h("div", {}, box, empty),
    /** The first read: the newest messages, oldest first. */
    start(messages) {
      shown.clear();
      list.replaceChildren();
      oldest = null;
      done = false;
      if (!messages.length) box.after(empty);
      apply(messages);
      // The first read holds the newest `FIRST` messages: fewer, and there are no older ones.
      older.hidden = messages.length < FIRST;
      box.scrollTop = box.scrollHeight;
    },
    apply,
  };
}

const paused = (chat) => chat?.ai_paused_until && new Date(chat.ai_paused_until) > new Date();
/** WhatsApp Cloud chats say when their window closes; null or past: closed. */
const windowClosed = (chat, account) => account.provider === "whatsapp_cloud"
  && !(chat?.service_window_expires_at && new Date(chat.service_window_expires_at) > new Date());

/** Where the chat stands: opted out, AI paused by a human, the WhatsApp window. */
function banners(chat, account, resume) {
  const out = [];
  if (chat?.opted_out_at) {
    out.push(h("p", { class: "banner bad", role: "status" }, "This contact opted out (", chat.opt_out_source || "by hand", ", ",
      time(chat.opted_out_at), "): nothing can be sent to them."));
  }
  if (paused(chat)) {
    out.push(h("p", { class: "banner", role: "status" }, "AI paused: a human is answering until ", time(chat.ai_paused_until), ". ",
      h("button", { type: "button", onclick: resume }, "Resume AI")));
  }
  if (account.provider === "whatsapp_cloud") {
    out.push(windowClosed(chat, account)
      ? h("p", { class: "banner warn", role: "status" }, "The 24-hour WhatsApp window is closed: only a template can reach this contact.")
      : h("p", { class: "banner ok" }, "WhatsApp window open until ", time(chat.service_window_expires_at), "."));
  }
  return out;
}

/** A fresh key per message typed: a retried or double-clicked send goes out once. */
const newKey = () => `dashboard:${crypto.randomUUID()}`;

function textComposer(send) {
  const text = textarea("text", { rows: 2, placeholder: "Write a reply…", maxlength: 4096 });
  let key = newKey();
  const f = form({ class: "composer", "aria-label": "Reply" },
    [field("Message", text, "Enter sends; Shift+Enter starts a new line. The AI steps back while you answer.")],
    async () => {
      if (!text.value.trim()) return "";
      await send({ text: text.value, idempotency_key: key });
      text.value = "";
      key = newKey();
      return "Sent.";
    }, "Send");
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      // Not while the last one is on its way.
      if (!f.querySelector("button[type=submit]").disabled) f.requestSubmit();
    }
  });
  return f;
}

/** The values a template asks for, each under its place in the template. */
function templateFields(t) {
  return t.params.map((p) => {
    const where = p.component === "button" ? `Button ${Number(p.index ?? 0) + 1}` : p.component === "header" ? "Header" : "Body";
    const label = p.component === "header" && t.header_format && t.header_format !== "TEXT" ? `${where} (link to the ${t.header_format.toLowerCase()})` : `${where} {{${p.name}}}`;
    return field(label, h("input", { type: "text", name: `param:${p.component}:${p.name}:${p.index ?? ""}`, required: true, maxlength: 1024, placeholder: p.example || "" }));
  });
}

/** What `POST .../messages` takes for a template, from its fields. */
function templateValues(t, f) {
  const value = (p) => f.elements.namedItem(`param:${p.component}:${p.name}:${p.index ?? ""}`).value;
  const of = (component) => t.params.filter((p) => p.component === component);
  const params = {};
  if (of("header").length) params.header = of("header").map(value);
  const body = of("body");
  if (body.length) {
    params.body = t.parameter_format === "named"
      ? Object.fromEntries(body.map((p) => [p.name, value(p)]))
      : [...body].sort((a, b) => Number(a.name) - Number(b.name)).map(value);
  }
  const buttons = of("button");
  if (buttons.length) params.buttons = [...buttons].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map(value);
  return params;
}

function templateComposer(accountId, send) {
  const box = h("div", { class: "composer" }, h("p", {}, "Loading templates…"));
  get(`/v1/accounts/${accountId}/templates${query({ status: "APPROVED", limit: 200 })}`)
    .then((list) => {
      if (!list.items.length) {
        box.replaceChildren(h("p", { class: "warn" }, "This WhatsApp account has no approved template: nothing can reach the contact until they write."));
        return;
      }
      const choose = select("template", list.items.map((t, i) => [String(i), `${t.name} (${t.language}, ${t.category.toLowerCase()})`]), "0");
      const params = h("div");
      const preview = h("p", { class: "hint template-body" });
      const show = () => {
        const t = list.items[Number(choose.value)];
        preview.textContent = t.body;
        params.replaceChildren(...templateFields(t));
      };
      choose.addEventListener("change", show);
      let key = newKey();
      const f = form({ class: "composer", "aria-label": "Send a template" },
        [field("Template", choose), preview, params],
        async (f) => {
          const t = list.items[Number(choose.value)];
          await send({ template: { name: t.name, language: t.language, params: templateValues(t, f) }, idempotency_key: key });
          key = newKey();
          show();
          return "Template sent.";
        }, "Send template");
      show();
      box.replaceChildren(f);
    })
    .catch((e) => box.replaceChildren(failure(e)));
  return box;
}

function effective(base) {
  const verdict = h("p", {}, "Loading…");
  const table = h("div", { class: "scroll" });
  const box = h("div", {}, verdict, h("details", {}, h("summary", {}, "Effective AI configuration"), table));
  box.reload = () =>
    get(`${base}/ai/effective`)
      .then((e) => {
        const rows = Object.entries(e).filter(([, v]) => v && typeof v === "object" && "source" in v);
        verdict.className = e.would_reply ? "ok" : "warn";
        verdict.textContent = e.would_reply ? "A message here would be answered now." : `A message here would not be answered: ${e.reason}.`;
        table.replaceChildren(h("table", {}, h("caption", {}, "In force here"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Setting"), h("th", { scope: "col" }, "Value"), h("th", { scope: "col" }, "Level"))),
          h("tbody", {}, rows.map(([name, v]) => h("tr", {}, h("th", { scope: "row" }, name),
            h("td", {}, typeof v.value === "boolean" ? (v.value ? "yes" : "no") : String(v.value ?? "—")),
            h("td", {}, h("span", { class: `level ${v.source}` }, v.source)))))));
      })
      .catch((e) => verdict.replaceChildren(failure(e)));
  box.reload();
  return box;
}

function gear(base, ai, after) {
  const f = form({ "aria-label": "AI settings for this chat" },
    [field("AI mode", select("mode", [["inherit", "inherit (the account's setting)"], ["enabled", "always on"], ["disabled", "off"]], ai.mode)),
      field("Custom system prompt", textarea("custom_system_prompt", {}, ai.custom_system_prompt), "Used instead of the default prompt in this chat. Saving resumes AI paused by a human.")],
    async (f) => {
      await put(`${base}/ai`, {
        mode: f.elements.mode.value, custom_system_prompt: f.elements.custom_system_prompt.value.trim() || null,
      });
      after();
      return "Saved.";
    });
  return h("details", { class: "gear" }, h("summary", {}, h("span", { "aria-hidden": "true" }, "⚙ "), "AI settings for this chat"), f);
}

function toggle(title, label, name, checked, submit) {
  return form({ "aria-label": title },
    [h("div", { class: "check" }, h("input", { type: "checkbox", name, id: name, checked }), h("label", { for: name }, label))],
    (f) => submit(f.elements[name].checked));
}

export function chat(accountId, chatId) {
  const base = `/v1/accounts/${accountId}/chats/${seg(chatId)}`;
  const page = h("section", { class: "chat-page" }, h("h1", {}, chatId), h("p", {}, "Loading…"));
  Promise.all([get(`/v1/accounts/${accountId}`), get(`${base}/ai`), get(`${base}/changes`)])
    .then(([account, ai, first]) => {
      let chat = first.chat;
      let since = first.next_since;
      const title = h("h1", {}, chatName(chat, chatId));
      const subtitle = h("p", { class: "hint" }, chatId);
      const status = h("div", { class: "banners" });
      const composing = h("div");
      let mode = null;
      const conversation = thread(base);
      const inForce = effective(base);
      // Bumped by each change made here: a poll that started before one does not undo it.
      let changed = 0;

      const refresh = every(page, async () => {
        const asked = changed;
        const c = await get(`${base}/changes${query({ since })}`);
        since = c.next_since;
        if (c.gap) {
          const again = await get(`${base}/changes`);
          conversation.start(again.messages);
        } else {
          conversation.apply(c.messages);
        }
        if (asked === changed && JSON.stringify(c.chat) !== JSON.stringify(chat)) {
          chat = c.chat;
          show();
        }
      });
      const send = async (body) => {
        const sent = await post(`/v1/accounts/${accountId}/messages`, { chat_id: chatId, pause_ai: true, ...body });
        changed++;
        if (sent.ai_paused_until) chat = { ...(chat || {}), ai_paused_until: sent.ai_paused_until };
        show();
        refresh();
        inForce.reload();
      };
      const resume = async () => {
        try {
          await put(`${base}/ai`, {});
          changed++;
          chat = { ...chat, ai_paused_until: null };
          show();
          inForce.reload();
        } catch (e) {
          status.append(failure(e));
        }
      };
      function show() {
        title.textContent = chatName(chat, chatId);
        subtitle.hidden = !chat?.name;
        status.replaceChildren(...banners(chat, account, resume));
        const next = chat?.opted_out_at ? "none" : windowClosed(chat, account) ? "template" : "text";
        if (next !== mode) {
          mode = next;
          composing.replaceChildren(mode === "none" ? h("p", { class: "hint" }, "Opted out: the composer is off.")
            : mode === "template" ? templateComposer(accountId, send) : textComposer(send));
        }
      }

      const panel = h("aside", { class: "panel", "aria-labelledby": "settings" },
        h("h2", { id: "settings" }, "This chat"),
        inForce,
        gear(base, ai, () => { inForce.reload(); refresh(); }),
        toggle("Block", "Blocked (messages are stored, never answered)", "blocked", Boolean(chat?.blocked), async (on) => {
          await put(`${base}/block`, { blocked: on });
          inForce.reload();
          refresh();
          return on ? "Blocked." : "Unblocked.";
        }),
        toggle("Opt-out", "Opted out (nothing is sent to this contact)", "opted_out", Boolean(chat?.opted_out_at), async (on) => {
          chat = await put(`${base}/opt-out`, { opted_out: on });
          changed++;
          show();
          inForce.reload();
          return on ? "Opted out." : "Opted back in.";
        }));
      page.replaceChildren(
        h("nav", { class: "crumbs", "aria-label": "breadcrumb" }, link("/dashboard/accounts", "Accounts"), " / ",
          link(`/dashboard/accounts/${accountId}`, account.name), " / "),
        title, subtitle, status,
        h("div", { class: "inbox" },
          h("section", { class: "talk", "aria-labelledby": "messages" }, h("h2", { id: "messages" }, "Conversation"), conversation.el, composing),
          panel),
      );
      document.title = `${chatName(chat, chatId)} · ${account.name} · Switchboard`;
      show();
      conversation.start(first.messages);
    })
    .catch((e) => page.append(e instanceof ApiError ? failure(e) : failure(String(e))));
  return page;
}
