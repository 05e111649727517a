// The audit: every decision of the client API, newest first, filtered by key and outcome.

import { get, query } from "../api.js";
import { field, form, h, input, link, paged, select, table, time } from "../dom.js";

export function audit() {
  const params = new URLSearchParams(location.search);
  const filters = { key_id: params.get("key_id") || "", outcome: params.get("outcome") || "" };
  const box = h("div");
  const show = () =>
    box.replaceChildren(
      paged(
        (cursor) => get(`/api/v1/audit${query({ ...filters, limit: 25, cursor })}`),
        (items) =>
          table("Audit", [
            ["When", (r) => time(r.at)],
            ["Who", (r) => r.actor],
            ["Action", (r) => r.action],
            ["Outcome", (r) => h("span", { class: `badge ${r.outcome}` }, r.outcome)],
            ["Why", (r) => (r.code ? `${r.code}: ${r.reason || ""}` : r.reason || "")],
            ["Phone", (r) => r.phone_id || ""],
            ["Channel and recipient", (r) => [r.channel, r.to].filter(Boolean).join(" ")],
            ["Message", (r) => (r.message_id ? link(`/dashboard/confirm/${r.message_id}`, r.message_id) : "")],
          ], items, "No decisions match."),
      ),
    );
  const f = form({ class: "filters", "aria-label": "Filters", role: "search" },
    [field("Key id", input("key_id", { value: filters.key_id })),
      field("Outcome", select("outcome", [["", "any"], ["accepted", "accepted"], ["refused", "refused"]], filters.outcome))],
    async (f) => {
      for (const k of Object.keys(filters)) filters[k] = f.elements[k].value.trim();
      history.replaceState(null, "", `/dashboard/audit${query(filters)}`);
      show();
      return "";
    }, "Filter");
  show();
  return h("section", {}, h("h1", {}, "Audit"), f, box);
}
