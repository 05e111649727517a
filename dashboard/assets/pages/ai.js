// Global AI configuration (`/v1/ai/global`), with a chat to try it (`/v1/ai/admin/test`). The
// settings form is shared with an account's overrides.

import { get, post, put } from "../api.js";
import { failure, field, form, h, input, select, textarea } from "../dom.js";

const BOOLEANS = [
  ["enabled", "AI replies on"],
  ["echo_mode", "Echo mode (answer with the customer's text; no LLM call)"],
  ["reply_to_private", "Answer private chats"],
  ["reply_to_groups", "Answer groups"],
  ["reply_to_channels", "Answer channels"],
  ["groups_require_mention", "In groups, only when mentioned"],
];
const TEXTS = [
  ["base_url", "Base URL (OpenAI-compatible)", "url"],
  ["model_name", "Model", "text"],
];
const NUMBERS = [
  ["temperature", "Temperature", "0.1"],
  ["max_tokens", "Max tokens", "1"],
  ["timeout_seconds", "LLM timeout (seconds)", "1"],
  ["reply_delay_seconds", "Reply delay (seconds)", "1"],
  ["debounce_seconds", "Debounce (seconds)", "1"],
  ["human_takeover_minutes", "Pause after a human writes (minutes)", "1"],
  ["max_replies_per_chat_per_hour", "Max replies per chat per hour", "1"],
];

const shown = (v) => (v === null || v === undefined ? "not set" : typeof v === "boolean" ? (v ? "yes" : "no") : String(v));

/**
 * The fields of one level. Empty means "inherit" (sent as null); `below` holds the values of
 * the level underneath, shown as what an empty field inherits.
 */
export function settingsForm(current, below, save, belowName) {
  const inherit = (name) => (below ? `inherit (${belowName}: ${shown(below[name])})` : "not set (environment or default)");
  const controls = [];
  for (const [name, label] of BOOLEANS) {
    const value = current[name] === true ? "true" : current[name] === false ? "false" : "";
    controls.push(field(label, select(name, [["", inherit(name)], ["true", "yes"], ["false", "no"]], value)));
  }
  for (const [name, label, type] of TEXTS) {
    controls.push(field(label, input(name, { type, value: current[name] ?? "", placeholder: inherit(name) })));
  }
  const keyHint = current.has_api_key
    ? "A key is stored (it is never shown). Type a new one to replace it."
    : "No key stored at this level.";
  controls.push(
    field("API key", input("api_key", { type: "password", autocomplete: "off", placeholder: current.has_api_key ? "•••••• stored" : "" }), keyHint),
  );
  if (current.has_api_key) {
    controls.push(h("div", { class: "check" }, h("input", { type: "checkbox", name: "remove_api_key", id: "remove-key" }),
      h("label", { for: "remove-key" }, "Remove the stored key")));
  }
  for (const [name, label, step] of NUMBERS) {
    controls.push(field(label, input(name, { type: "number", step, value: current[name] ?? "", placeholder: inherit(name) })));
  }
  controls.push(field("Default system prompt", textarea("default_system_prompt", { placeholder: inherit("default_system_prompt") }, current.default_system_prompt)));

  return form({ class: "settings" }, controls, async (f) => {
    const body = {};
    for (const [name] of BOOLEANS) {
      const v = f.elements[name].value;
      body[name] = v === "" ? null : v === "true";
    }
    for (const [name] of TEXTS) body[name] = f.elements[name].value.trim() || null;
    for (const [name] of NUMBERS) {
      const v = f.elements[name].value;
      body[name] = v === "" ? null : Number(v);
    }
    body.default_system_prompt = f.elements.default_system_prompt.value.trim() || null;
    const key = f.elements.api_key.value;
    if (key) body.api_key = key;
    else if (f.elements.remove_api_key?.checked) body.api_key = null;
    const saved = await save(body);
    f.elements.api_key.value = "";
    f.elements.api_key.placeholder = saved.has_api_key ? "•••••• stored" : "";
    return "Saved.";
  });
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
