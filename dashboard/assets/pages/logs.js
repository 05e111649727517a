// AI logs: every decision of the reply pipeline, with filters and the reason of each skip.

import { get, query } from "../api.js";
import { field, form, h, input, link, paged, select, table, time } from "../dom.js";

export function logs() {
  const params = new URLSearchParams(location.search);
  const filters = { account_id: params.get("account_id") || "", chat_id: params.get("chat_id") || "", status: params.get("status") || "" };
  const box = h("div");
  const show = () =>
    box.replaceChildren(
      paged(
        (cursor) => get(`/v1/ai/logs${query({ ...filters, limit: 25, cursor })}`),
        (items) =>
          table("AI log", [
            ["When", (r) => time(r.created_at)],
            ["Status", (r) => h("span", { class: `badge ${r.status}` }, r.status)],
            ["Chat", (r) => link(`/dashboard/accounts/${r.account_id}/chats/${encodeURIComponent(r.chat_id)}`, r.chat_id)],
            ["Reason or error", (r) => r.reason || r.error || ""],
            ["Reply", (r) => r.reply || ""],
            ["Model", (r) => r.model || ""],
            ["Latency", (r) => (r.latency_ms === null || r.latency_ms === undefined ? "" : `${r.latency_ms} ms`)],
          ], items, "No log rows match."),
      ),
    );
  const f = form({ class: "filters", "aria-label": "Filters", role: "search" },
    [field("Account id", input("account_id", { value: filters.account_id })),
      field("Chat id", input("chat_id", { value: filters.chat_id })),
      field("Status", select("status", [["", "any"], ["skipped", "skipped"], ["generated", "generated"], ["sent", "sent"], ["failed", "failed"]], filters.status))],
    async (f) => {
      for (const k of Object.keys(filters)) filters[k] = f.elements[k].value.trim();
      history.replaceState(null, "", `/dashboard/logs${query(filters)}`);
      show();
      return "";
    }, "Filter");
  show();
  return h("section", {}, h("h1", {}, "AI logs"), f, box);
}
