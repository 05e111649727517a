// AI logs: every decision of the reply pipeline, with filters and the reason of each skip.

import { get, query } from "../api.js";
import { field, form, h, input, link, paged, select, table, time } from "../dom.js";
import { accountsById } from "../names.js";

export function logs() {
  const params = new URLSearchParams(location.search);
  const filters = { account_id: params.get("account_id") || "", chat_id: params.get("chat_id") || "", status: params.get("status") || "" };
  const box = h("div");
  const names = new Map();
  const accountName = (id) => names.get(id)?.name || id;
  const show = () =>
    box.replaceChildren(
      paged(
        (cursor) => get(`/v1/ai/logs${query({ ...filters, limit: 25, cursor })}`),
        (items) =>
          table("AI log", [
            ["When", (r) => time(r.created_at)],
            ["Status", (r) => h("span", { class: `badge ${r.status}` }, r.status)],
            ["Account", (r) => link(`/dashboard/accounts/${r.account_id}`, accountName(r.account_id))],
            ["Chat", (r) => link(`/dashboard/accounts/${r.account_id}/chats/${encodeURIComponent(r.chat_id)}`, r.chat_id)],
            ["Reason or error", (r) => r.reason || r.error || ""],
            ["Reply", (r) => r.reply || ""],
            ["Model", (r) => r.model || ""],
            ["Latency", (r) => (r.latency_ms === null || r.latency_ms === undefined ? "" : `${r.latency_ms} ms`)],
          ], items, "No log rows match."),
      ),
    );
  const f = form({ class: "filters", "aria-label": "Filters", role: "search" },
    [field("Account", select("account_id", [["", "any"]], "")),
      field("Chat id", input("chat_id", { value: filters.chat_id })),
      field("Status", select("status", [["", "any"], ["skipped", "skipped"], ["generated", "generated"], ["sent", "sent"], ["failed", "failed"]], filters.status))],
    async (f) => {
      for (const k of Object.keys(filters)) filters[k] = f.elements[k].value.trim();
      history.replaceState(null, "", `/dashboard/logs${query(filters)}`);
      show();
      return "";
    }, "Filter");
  // The filter names accounts; the ids stay the values the API takes.
  accountsById()
    .then((accounts) => {
      for (const [id, a] of accounts) names.set(id, a);
      const choose = f.elements.account_id;
      const known = [...accounts.values()].map((a) => [a.id, a.name]);
      if (filters.account_id && !accounts.has(filters.account_id)) known.push([filters.account_id, filters.account_id]);
      for (const [id, name] of known) choose.append(h("option", { value: id, selected: id === filters.account_id }, name));
      show();
    })
    .catch(() => show());
  return h("section", {}, h("h1", {}, "AI logs"), f, box);
}
