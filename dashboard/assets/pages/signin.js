// Sign-in with the admin password (`POST /v1/auth/login`) or a pasted admin token.

import { get, post, session } from "../api.js";
import { field, form, h, input } from "../dom.js";
import { go } from "../app.js";

function next() {
  const n = new URLSearchParams(location.search).get("next");
  return n && n.startsWith("/") && n !== "/signin" ? n : "/overview";
}

export function signin() {
  const withPassword = form(
    { "aria-labelledby": "by-password" },
    [h("h2", { id: "by-password" }, "With the admin password"),
      field("Password", input("password", { type: "password", autocomplete: "current-password", required: true }))],
    async (f) => {
      let answer;
      try {
        answer = await post("/v1/auth/login", { password: f.elements.password.value });
      } catch (e) {
        // A refused password belongs beside its field.
        if (e.status === 401 || e.status === 403) e.field = e.field || "password";
        throw e;
      }
      session.set(answer.token);
      go(next());
    },
    "Sign in",
  );
  const withToken = form(
    { "aria-labelledby": "by-token" },
    [h("h2", { id: "by-token" }, "With an admin token"),
      field("Admin token", input("token", { autocomplete: "off", spellcheck: "false" }),
        "From `switchboard admin-token`, or the banner of the first start.")],
    async (f) => {
      session.set(f.elements.token.value.trim());
      try {
        await get("/v1/ai/global");
      } catch (e) {
        session.clear();
        e.field = "token";
        throw e;
      }
      go(next());
    },
    "Use this token",
  );
  return h("section", { class: "narrow" }, h("h1", {}, "Sign in"), withPassword, withToken);
}
