// Global AI configuration (`/v1/ai/global`), with a chat to try it (`/v1/ai/admin/test`). The
// settings form is shared with an account's overrides.

import { get, post, put } from "../api.js";
import { failure, field, form, h, input, select, textarea } from "../dom.js";

let declared;

/**
 * The AI settings as the server declares them: the properties of `AiSettingsBody` in the API
 * document, each with its type, limits, label (`title`) and help (`description`). The form is
 * written from them, so it has every setting, with the server's own limits.
 */
export function aiSettingFields() {
  declared ??= get("/openapi.json").then((doc) =>
    Object.entries(doc.components.schemas.AiSettingsBody.properties).map(([name, p]) => {
      const type = [].concat(p.type).find((t) => t !== "null");
      const kind = p.writeOnly ? "secret" : p.enum ? "choice" : p.format === "uri" ? "url" : type;
      return { name, kind, label: p.title ?? name, help: p.description, min: p.minimum, max: p.maximum,
        maxLength: p.maxLength, choices: p.enum?.filter((c) => c !== null), long: (p.maxLength ?? 0) > 1000 };
    }));
  return declared;
}

const shown = (v) => (v === null || v === undefined ? "not set" : typeof v === "boolean" ? (v ? "yes" : "no") : String(v));

/** One setting's control, holding the level's current value ("" when it inherits). */
function control(f, current, inherit) {
  const value = current[f.name];
  switch (f.kind) {
    case "boolean":
      return select(f.name, [["", inherit], ["true", "yes"], ["false", "no"]], value === true ? "true" : value === false ? "false" : "");
    case "choice":
      return select(f.name, [["", inherit], ...f.choices.map((c) => [c, c])], value ?? "");
    case "integer":
    case "number":
      return input(f.name, { type: "number", step: f.kind === "integer" ? "1" : "0.1", min: f.min, max: f.max, value: value ?? "", placeholder: inherit });
    case "secret":
      return input(f.name, { type: "password", autocomplete: "off", placeholder: current[`has_${f.name}`] ? "•••••• stored" : "" });
    default:
      return f.long
        ? textarea(f.name, { placeholder: inherit, maxlength: f.maxLength }, value)
        : input(f.name, { type: f.kind === "url" ? "url" : "text", maxlength: f.maxLength, value: value ?? "", placeholder: inherit });
  }
}

/** What a control holds, as the PUT takes it: null inherits. */
function read(f, el) {
  const v = el.value;
  switch (f.kind) {
    case "boolean":
      return v === "" ? null : v === "true";
    case "integer":
    case "number":
      return v === "" ? null : Number(v);
    default:
      return v.trim() || null;
  }
}

/**
 * The settings of one level. Empty means "inherit" (sent as null); `below` holds the values of
 * the level underneath, shown as what an empty field inherits. A secret is never shown: typing
 * one replaces it, and a box removes it.
 */
export function settingsForm(current, below, save, belowName) {
  const box = h("div", {}, "Loading…");
  aiSettingFields()
    .then((fields) => {
      const inherit = (name) => (below ? `inherit (${belowName}: ${shown(below[name])})` : "not set (environment or default)");
      const controls = fields.map((f) => {
        if (f.kind !== "secret") return field(f.label, control(f, current, inherit(f.name)), f.help);
        const stored = current[`has_${f.name}`];
        const id = `remove-${f.name}`;
        return [
          field(f.label, control(f, current), stored ? "A value is stored (it is never shown). Type a new one to replace it." : "None stored at this level."),
          stored ? h("div", { class: "check" }, h("input", { type: "checkbox", name: `remove_${f.name}`, id }), h("label", { for: id }, `Remove the stored ${f.label}`)) : null,
        ];
      });
      box.replaceChildren(form({ class: "settings" }, controls, async (el) => {
        const body = {};
        for (const f of fields) {
          if (f.kind !== "secret") body[f.name] = read(f, el.elements[f.name]);
          else if (el.elements[f.name].value) body[f.name] = el.elements[f.name].value;
          else if (el.elements[`remove_${f.name}`]?.checked) body[f.name] = null;
        }
        const saved = await save(body);
        for (const f of fields.filter((f) => f.kind === "secret")) {
          el.elements[f.name].value = "";
          el.elements[f.name].placeholder = saved[`has_${f.name}`] ? "•••••• stored" : "";
        }
        return "Saved.";
      }));
    })
    .catch((e) => box.replaceChildren(failure(e)));
  return box;
}

/** A chat with the configuration: each message is answered as a customer's would be. */
export function testChat(accountId, chatId) {
  const log = h("ol", { class: "conversation", "aria-live": "polite" });
  const f = form({ class: "test-chat", "aria-label": "AI test chat" },
    [field("Message", input("message", { autocomplete: "off", required: true }))],
    async (f) => {
      const message = f.elements.message.value;
      if (!message.trim()) return "";
      log.append(h("li", { class: "them" }, message));
      const answer = await post("/v1/ai/admin/test", { message, account_id: accountId || null, chat_id: chatId || null });
      log.append(h("li", { class: "me" }, answer.reply, h("small", {}, ` ${answer.model} · ${answer.latency_ms} ms`)));
      f.elements.message.value = "";
      return "";
    }, "Send");
  return h("section", { "aria-labelledby": "test-chat" }, h("h2", { id: "test-chat" }, "Try it"),
    h("p", { class: "hint" }, "Answered with the configuration in force (nothing is sent to a customer)."), log, f);
}

export function ai() {
  const page = h("section", {}, h("h1", {}, "AI"), h("p", {}, "Loading…"));
  get("/v1/ai/global")
    .then((current) => {
      page.replaceChildren(
        h("h1", {}, "AI"),
        h("p", {}, "Global settings: accounts and chats inherit them unless they set their own. Empty fields fall back to the environment (OPENAI_API_KEY, OPENAI_BASE_URL, AI_MODEL) or the default."),
        h("section", { "aria-labelledby": "global" }, h("h2", { id: "global" }, "Global settings"),
          settingsForm(current, null, (body) => put("/v1/ai/global", body))),
        testChat(null, null),
      );
    })
    .catch((e) => page.append(failure(e)));
  return page;
}
