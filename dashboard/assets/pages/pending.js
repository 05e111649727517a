// Messages waiting for a person to confirm them, oldest first (they expire first).

import { get, query } from "../api.js";
import { h, link, paged, table, time } from "../dom.js";

export function pending() {
  return h("section", {}, h("h1", {}, "Waiting for confirmation"),
    h("p", { class: "hint" }, "Sends of keys that require confirmation, and drafts. Each expires 15 minutes after it was asked for."),
    paged(
      (cursor) => get(`/api/v1/messages${query({ status: "pending_confirmation", limit: 25, cursor })}`),
      (items) =>
        table("Waiting for confirmation", [
          ["Asked", (m) => time(m.created_at)],
          ["To", (m) => `${m.channel} ${m.to}`],
          ["Text", (m) => m.text ?? ""],
          ["Asked by", (m) => m.source || ""],
          ["Expires", (m) => time(m.expires_at)],
          ["", (m) => link(`/dashboard/confirm/${m.id}`, `Review ${m.id}`)],
        ], items, "Nothing is waiting."),
    ));
}
