// The dashboard's shell: the navigation, sign-in and sign-out, and the page for each path.

import { session, whenSignedOut } from "./api.js";
import { h } from "./dom.js";
import { signin } from "./pages/signin.js";
import { overview } from "./pages/overview.js";
import { ai } from "./pages/ai.js";
import { accounts } from "./pages/accounts.js";
import { account } from "./pages/account.js";
import { chat } from "./pages/chat.js";
import { logs } from "./pages/logs.js";
import { webhooks, deliveries } from "./pages/webhooks.js";
import { keys } from "./pages/keys.js";
import { confirm } from "./pages/confirm.js";
import { pending } from "./pages/pending.js";
import { audit } from "./pages/audit.js";

const BASE = "/dashboard";

const pages = [
  [/^\/signin$/, "Sign in", signin],
  [/^\/overview$/, "Overview", overview],
  [/^\/ai$/, "AI", ai],
  [/^\/accounts$/, "Accounts", accounts],
  [/^\/accounts\/([^/]+)$/, "Account", account],
  [/^\/accounts\/([^/]+)\/chats\/(.+)$/, "Chat", chat],
  [/^\/logs$/, "AI logs", logs],
  [/^\/webhooks$/, "Webhooks", webhooks],
  [/^\/webhooks\/([^/]+)$/, "Deliveries", deliveries],
  [/^\/keys$/, "API keys", keys],
  [/^\/pending$/, "Waiting for confirmation", pending],
  [/^\/confirm\/([^/]+)$/, "Confirm a message", confirm],
  [/^\/audit$/, "Audit", audit],
];

const menu = [
  ["/overview", "Overview"],
  ["/accounts", "Accounts"],
  ["/ai", "AI"],
  ["/logs", "AI logs"],
  ["/webhooks", "Webhooks"],
  ["/keys", "API keys"],
  ["/pending", "To confirm"],
  ["/audit", "Audit"],
];

export function go(path) {
  history.pushState(null, "", BASE + path);
  render();
}

function header(path) {
  const top = document.getElementById("top");
  const signedIn = Boolean(session.token);
  top.replaceChildren(
    h(
      "nav",
      { "aria-label": "main" },
      h("a", { href: `${BASE}/overview`, class: "brand" }, "Switchboard"),
      signedIn
        ? h(
            "ul",
            {},
            menu.map(([p, label]) =>
              h("li", {}, h("a", { href: BASE + p, "aria-current": path.startsWith(p) ? "page" : null }, label)),
            ),
          )
        : null,
      signedIn
        ? h("button", { type: "button", class: "signout", onclick: () => { session.clear(); go("/signin"); } }, "Sign out")
        : null,
    ),
  );
}

function render() {
  let path = location.pathname.slice(BASE.length).replace(/\/$/, "") || "/overview";
  if (!session.token && path !== "/signin") {
    const next = path + location.search;
    history.replaceState(null, "", `${BASE}/signin?next=${encodeURIComponent(next)}`);
    path = "/signin";
  }
  header(path);
  const main = document.getElementById("main");
  const found = pages.find(([re]) => re.test(path));
  if (!found) {
    main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, "There is no such page."));
    return;
  }
  const [re, title, page] = found;
  const args = path.match(re).slice(1).map(decodeURIComponent);
  document.title = `${title} · Switchboard`;
  main.replaceChildren(page(...args));
  // After a navigation inside the page, focus goes to the new content as it would after a
  // page load; on the first load it stays at the top, where the skip link is.
  if (rendered) main.focus({ preventScroll: true });
  rendered = true;
}

let rendered = false;

// Links inside the dashboard change the page without a reload.
document.addEventListener("click", (event) => {
  const a = event.target.closest("a[href]");
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(`${BASE}/`)) return;
  if (url.pathname.startsWith(`${BASE}/assets/`)) return;
  event.preventDefault();
  history.pushState(null, "", url.pathname + url.search);
  render();
});
window.addEventListener("popstate", render);
whenSignedOut(() => go("/signin"));

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render);
else render();
