// Webhooks: subscriptions (the secret shown once), a test event, enable, and each one's
// delivery attempts.

import { del, get, post, query } from "../api.js";
import { failure, field, form, h, input, link, paged, shownOnce, table, time } from "../dom.js";

export function webhooks() {
  const out = h("div");
  const act = (label, run) => h("button", { type: "button", onclick: async () => {
    try {
      out.replaceChildren(h("p", { role: "status" }, await run()));
      list.reload();
    } catch (e) {
      out.replaceChildren(failure(e));
    }
  } }, label);
  const list = paged(
    (cursor) => get(`/v1/webhooks${query({ limit: 20, cursor })}`),
    (items) =>
      table("Webhooks", [
        ["URL", (w) => link(`/dashboard/webhooks/${w.id}`, w.url)],
        ["Events", (w) => w.events.join(", ")],
        ["Account", (w) => w.account_id || "all"],
        ["State", (w) => (w.disabled ? `disabled: ${w.disabled_reason || ""}` : w.failing_since ? ["failing since ", time(w.failing_since)] : "enabled")],
        ["", (w) => [
          act("Send a test event", async () => { await post(`/v1/webhooks/${w.id}/test`); return "Test event sent; see its deliveries."; }),
          w.disabled ? act("Enable", async () => { await post(`/v1/webhooks/${w.id}/enable`); return "Enabled."; }) : null,
          act("Delete", async () => { await del(`/v1/webhooks/${w.id}`); return "Deleted."; }),
        ]],
      ], items, "No webhooks yet."),
  );
  const create = form({ "aria-labelledby": "new-webhook" },
    [h("h2", { id: "new-webhook" }, "New webhook"),
      field("URL", input("url", { type: "url", required: true })),
      field("Events", input("events", { value: "*" }), "Comma-separated event types, or * for every event."),
      field("Account id", input("account_id"), "Only this account's events; empty for all.")],
    async (f) => {
      const created = await post("/v1/webhooks", {
        url: f.elements.url.value.trim(),
        events: f.elements.events.value.split(",").map((s) => s.trim()).filter(Boolean),
        account_id: f.elements.account_id.value.trim() || null,
      });
      out.replaceChildren(shownOnce("The signing secret", created.secret));
      f.reset();
      list.reload();
      return "";
    }, "Create webhook");
  return h("section", {}, h("h1", {}, "Webhooks"), out, list, create);
}

export function deliveries(id) {
  const page = h("section", {}, h("h1", {}, "Deliveries"));
  get(`/v1/webhooks/${id}`)
    .then((w) => {
      page.replaceChildren(
        h("p", {}, link("/dashboard/webhooks", "Webhooks"), " / "),
        h("h1", {}, "Deliveries to ", w.url),
        paged(
          (cursor) => get(`/v1/webhooks/${id}/deliveries${query({ limit: 25, cursor })}`),
          (items) =>
            table("Delivery attempts", [
              ["When", (d) => time(d.created_at)],
              ["Event", (d) => `${d.event_type} (${d.event_id})`],
              ["Attempt", (d) => String(d.attempt)],
              ["Status", (d) => h("span", { class: `badge ${d.status}` }, d.status)],
              ["HTTP", (d) => (d.status_code ? String(d.status_code) : "—")],
              ["Error", (d) => d.error || ""],
              ["Next retry", (d) => time(d.next_retry_at)],
            ], items, "No deliveries yet."),
        ),
      );
    })
    .catch((e) => page.append(failure(e)));
  return page;
}
