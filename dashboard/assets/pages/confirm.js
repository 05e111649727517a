// The page a pending message's `confirm_url` opens: what would be sent, to whom, from where,
// and the buttons to confirm or cancel it.

import { get, post } from "../api.js";
import { failure, h, time } from "../dom.js";

export function confirm(id) {
  const page = h("section", { class: "narrow" }, h("h1", {}, "Confirm a message"), h("p", {}, "Loading…"));
  const show = (m) => {
    const out = h("div", { role: "status", "aria-live": "polite" });
    const decide = (what) => async () => {
      try {
        show(await post(`/api/v1/messages/${id}/${what}`));
      } catch (e) {
        out.replaceChildren(failure(e));
      }
    };
    const pending = m.status === "pending_confirmation";
    page.replaceChildren(
      h("h1", {}, "Confirm a message"),
      h("dl", { class: "facts" },
        h("dt", {}, "Status"), h("dd", { class: "message-status" }, m.status),
        h("dt", {}, "From phone"), h("dd", {}, h("code", {}, m.phone_id)),
        h("dt", {}, "Channel"), h("dd", {}, m.channel),
        h("dt", {}, "To"), h("dd", {}, m.to),
        m.subject ? [h("dt", {}, "Subject"), h("dd", {}, m.subject)] : null,
        h("dt", {}, "Text"), h("dd", {}, h("blockquote", {}, m.text ?? "")),
        m.source ? [h("dt", {}, "Asked by"), h("dd", {}, m.source)] : null,
        m.expires_at && pending ? [h("dt", {}, "Expires"), h("dd", {}, time(m.expires_at))] : null,
        m.error ? [h("dt", {}, "Error"), h("dd", {}, m.error)] : null),
      pending
        ? h("div", { class: "actions" },
            h("button", { type: "button", class: "primary", onclick: decide("confirm") }, "Confirm and send"),
            h("button", { type: "button", onclick: decide("cancel") }, "Cancel it"))
        : h("p", {}, "Nothing to decide: this message is ", m.status, "."),
      out,
    );
  };
  get(`/api/v1/messages/${id}`).then(show).catch((e) => page.append(failure(e)));
  return page;
}
