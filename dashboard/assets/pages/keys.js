// Client API keys: their policy, a new key (shown once), and deletion (refused at once).

import { del, get, post, query } from "../api.js";
import { failure, field, form, h, input, paged, shownOnce, table, time } from "../dom.js";

const list = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);

export function keys() {
  const out = h("div");
  const listing = paged(
    (cursor) => get(`/v1/api-keys${query({ limit: 20, cursor })}`),
    (items) =>
      table("API keys", [
        ["Name", (k) => k.name],
        ["Id", (k) => h("code", {}, k.id)],
        ["Phones", (k) => k.phone_ids.join(", ")],
        ["Channels", (k) => k.channels.join(", ")],
        ["Recipients", (k) => (k.recipient_allowlist ? k.recipient_allowlist.join(", ") : "any")],
        ["Per minute", (k) => String(k.rate_limit_per_minute)],
        ["Confirmation", (k) => (k.require_confirmation ? "required" : "no")],
        ["Created", (k) => time(k.created_at)],
        ["", (k) => h("button", { type: "button", onclick: async () => {
          try {
            await del(`/v1/api-keys/${k.id}`);
            out.replaceChildren(h("p", { role: "status" }, `Deleted ${k.name}.`));
            listing.reload();
          } catch (e) {
            out.replaceChildren(failure(e));
          }
        } }, `Delete ${k.name}`)],
      ], items, "No keys yet."),
  );
  const create = form({ "aria-labelledby": "new-key" },
    [h("h2", { id: "new-key" }, "New key"),
      field("Name", input("name", { required: true })),
      field("Phones", input("phone_ids", { value: "*" }), "Account ids, comma-separated, or * for all."),
      field("Channels", input("channels", { value: "*" }), "sms, wa, tg, email, notify, tg_bot, pchat; or *."),
      field("Recipient allowlist", input("recipient_allowlist"), "Comma-separated; empty allows any recipient."),
      field("Rate per minute", input("rate_limit_per_minute", { type: "number", value: "10", min: "1" })),
      h("div", { class: "check" }, h("input", { type: "checkbox", name: "require_confirmation", id: "require-confirmation" }),
        h("label", { for: "require-confirmation" }, "A person confirms each send"))],
    async (f) => {
      const allow = list(f.elements.recipient_allowlist.value);
      const created = await post("/v1/api-keys", {
        name: f.elements.name.value,
        phone_ids: list(f.elements.phone_ids.value),
        channels: list(f.elements.channels.value),
        recipient_allowlist: allow.length ? allow : null,
        rate_limit_per_minute: Number(f.elements.rate_limit_per_minute.value),
        require_confirmation: f.elements.require_confirmation.checked,
      });
      out.replaceChildren(shownOnce(`The key ${created.name}`, created.key));
      f.reset();
      listing.reload();
      return "";
    }, "Create key");
  return h("section", {}, h("h1", {}, "API keys"), out, listing, create);
}
