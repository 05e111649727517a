// Accounts: the list (with the API's cursors) and a new account with its provider's settings.

import { get, post, query } from "../api.js";
import { field, form, h, input, link, paged, select, shownOnce, table, time } from "../dom.js";
import { forgetAccounts } from "../names.js";

/** Each provider's settings, as `POST /v1/accounts` takes them; `*` marks a required one. */
export const PROVIDERS = {
  sandbox: [],
  whatsapp_cloud: [["phone_number_id", "Phone number id", "text", true], ["business_account_id", "Business account id", "text"],
    ["api_version", "Graph API version (e.g. v23.0)", "text"], ["access_token", "Access token", "secret", true],
    ["app_secret", "App secret", "secret", true], ["verify_token", "Verify token (made up when empty)", "secret"]],
  telegram_bot: [["bot_token", "Bot token", "secret", true], ["webhook_secret", "Webhook secret (made up when empty)", "secret"]],
  bridge: [["url", "Bridge URL", "url", true], ["secret", "Shared secret", "secret"]],
  relay: [["phone_number", "The phone's number", "text"], ["channels", "Channels (comma-separated: sms, wa, tg, pchat)", "list"]],
  email: [["from", "From address", "email", true], ["smtp_url", "SMTP URL (smtps://user:password@host)", "secret", true]],
};

/** The provider's inputs, named `provider_config.<field>` as the API names them in errors. */
export function providerFields(provider, current = {}) {
  return (PROVIDERS[provider] || []).map(([name, label, kind, required]) => {
    const attrs = { type: kind === "secret" ? "password" : kind === "list" ? "text" : kind, autocomplete: "off" };
    if (kind !== "secret" && current[name] !== undefined && current[name] !== null) {
      attrs.value = Array.isArray(current[name]) ? current[name].join(", ") : String(current[name]);
    }
    if (kind === "secret") attrs.placeholder = current[name] ? "•••••• stored" : "";
    return field(required ? `${label} (required)` : label, input(`provider_config.${name}`, attrs));
  });
}

/** The typed provider settings; empty fields are left out (kept as they are on an update). */
export function providerConfig(provider, f) {
  const config = {};
  for (const [name, , kind] of PROVIDERS[provider] || []) {
    const v = f.elements[`provider_config.${name}`].value.trim();
    if (!v) continue;
    config[name] = kind === "list" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v;
  }
  return config;
}

export function accounts() {
  const created = h("div");
  const list = paged(
    (cursor) => get(`/v1/accounts${query({ limit: 20, cursor })}`),
    (items) =>
      table("Accounts", [
        ["Name", (a) => link(`/dashboard/accounts/${a.id}`, a.name)],
        ["Provider", (a) => a.provider],
        ["Id", (a) => h("code", {}, a.id)],
        ["Relay phone last seen", (a) => (a.provider === "relay" ? time(a.last_seen_at) : "—")],
        ["Created", (a) => time(a.created_at)],
      ], items, "No accounts yet."),
  );
  const providerBox = h("div");
  const provider = select("provider", Object.keys(PROVIDERS).map((p) => [p, p]), "sandbox");
  provider.addEventListener("change", () => providerBox.replaceChildren(...providerFields(provider.value)));
  const create = form({ "aria-labelledby": "new-account" },
    [h("h2", { id: "new-account" }, "New account"),
      field("Name", input("name", { required: true })), field("Provider", provider), providerBox],
    async (f) => {
      const account = await post("/v1/accounts", {
        name: f.elements.name.value, provider: provider.value,
        provider_config: providerConfig(provider.value, f),
      });
      forgetAccounts();
      created.replaceChildren(
        h("p", {}, "Created ", link(`/dashboard/accounts/${account.id}`, account.name), "."),
        shownOnce("The account's token", account.token),
      );
      f.reset();
      providerBox.replaceChildren();
      list.reload();
      return "";
    }, "Create account");
  return h("section", {}, h("h1", {}, "Accounts"), list, create, created);
}
