"""What an operator does in the dashboard, in a real browser, checked through the API."""

import re

from playwright.sync_api import expect

from conftest import PASSWORD, free_port, shot, sign_in

CHAT = "15551234567@s.whatsapp.net"


def inbound(server, text, message_id):
    status, body = server.call(
        "POST",
        f"/v1/ingest/{server.sandbox}",
        {"message_id": message_id, "chat_id": CHAT, "from": CHAT, "text": text, "push_name": "Ann"},
        token=server.sandbox_token,
    )
    assert status in (200, 202), body


def test_sign_in_with_the_password_and_out(page, server):
    page.goto(server.base + "/dashboard/keys")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Password", exact=True).fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#" + page.get_by_label("Password", exact=True).get_attribute("id") + "-error")).not_to_be_empty()
    shot(page, "signin")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    assert page.url.endswith("/dashboard/keys"), "back to the page asked for"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(server.base + "/dashboard/ai")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_pasted_admin_token_signs_in(page, server):
    page.goto(server.base + "/dashboard/")
    page.get_by_label("Admin token", exact=True).fill(server.admin)
    page.get_by_role("button", name="Use this token").click()
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()


def test_a_global_setting_is_saved_and_the_key_never_shown(page, server):
    sign_in(page, server, "/dashboard/ai")
    page.get_by_label("Model", exact=True).fill("gpt-dashboard")
    page.get_by_label("API key", exact=True).fill("sk-dashboard-secret-1234")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    status, settings = server.call("GET", "/v1/ai/global")
    assert status == 200 and settings["model_name"] == "gpt-dashboard", settings
    assert settings["has_api_key"] is True, settings
    page.reload()
    expect(page.get_by_label("Model", exact=True)).to_have_value("gpt-dashboard")
    expect(page.get_by_label("API key", exact=True)).to_have_value("")
    assert "sk-dashboard-secret" not in page.content()
    shot(page, "ai")
    # A bad value is shown next to its field.
    page.get_by_label("Temperature", exact=True).fill("7")
    page.get_by_role("button", name="Save").click()
    error = page.locator("#" + page.get_by_label("Temperature", exact=True).get_attribute("id") + "-error")
    expect(error).not_to_be_empty()
    expect(page.get_by_label("Temperature", exact=True)).to_have_attribute("aria-invalid", "true")


def test_the_settings_form_has_every_declared_setting_with_its_limits(page, server):
    """Walks the AI settings as the API document declares them (written from the server's one
    list of settings): each has its control on the global form, under its title, named after
    the field, with the document's limits."""
    status, doc = server.call("GET", "/openapi.json")
    assert status == 200
    settings = doc["components"]["schemas"]["AiSettingsBody"]["properties"]
    assert len(settings) >= 17, settings.keys()
    sign_in(page, server, "/dashboard/ai")
    expect(page.get_by_role("heading", name="Global settings")).to_be_visible()
    form = page.locator("form.settings")
    for name, p in settings.items():
        control = form.get_by_label(p["title"], exact=True)
        expect(control).to_have_attribute("name", name)
        for limit, attribute in (("minimum", "min"), ("maximum", "max"), ("maxLength", "maxlength")):
            if limit in p and not p.get("writeOnly"):
                expect(control).to_have_attribute(attribute, str(p[limit]))
        if p.get("writeOnly"):
            expect(control).to_have_attribute("type", "password")
        elif "boolean" in p["type"]:
            expect(control.locator("option")).to_have_count(3)


def test_the_ai_test_chat_answers_in_echo_mode(page, server):
    sign_in(page, server, "/dashboard/ai")
    page.get_by_label("AI replies on", exact=True).select_option("true")
    page.get_by_label("Echo mode (answer with the customer's text; no LLM call)", exact=True).select_option("true")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.get_by_label("Message", exact=True).fill("Do you open on Sundays?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".conversation li.me")).to_contain_text("Do you open on Sundays?")


def test_an_account_is_created_with_its_token_shown_once(page, server):
    sign_in(page, server, "/dashboard/accounts")
    page.get_by_role("button", name="Create account").click()
    name_error = page.locator("#" + page.get_by_label("Name", exact=True).get_attribute("id") + "-error")
    expect(name_error).not_to_be_empty()
    page.get_by_label("Name", exact=True).fill("Bike shop")
    page.get_by_role("button", name="Create account").click()
    token = page.locator(".once code").inner_text()
    assert token.startswith("sbt_acc_"), token
    status, accounts = server.call("GET", "/v1/accounts")
    assert any(a["name"] == "Bike shop" for a in accounts["items"]), accounts
    expect(page.get_by_role("link", name="Bike shop").first).to_be_visible()
    shot(page, "accounts")
    page.reload()
    assert token not in page.content(), "shown once"


def test_a_chat_mode_is_changed_with_the_gear_and_the_chat_blocked(page, server):
    inbound(server, "Hi, is my order on its way?", "wamid.gear")
    sign_in(page, server, f"/dashboard/accounts/{server.sandbox}")
    expect(page.get_by_text("Hi, is my order on its way?")).to_be_visible()
    shot(page, "account")
    page.get_by_role("link", name=re.compile("Ann|15551234567")).click()
    expect(page.get_by_role("heading", name="Conversation")).to_be_visible()
    page.get_by_text("AI settings for this chat").click()
    page.get_by_label("AI mode", exact=True).select_option("disabled")
    page.get_by_label("Custom system prompt", exact=True).fill("You are the front desk of a bike shop.")
    page.get_by_role("form", name="AI settings for this chat").get_by_role("button", name="Save").click()
    expect(page.get_by_role("form", name="AI settings for this chat").get_by_text("Saved.")).to_be_visible()
    status, ai = server.call("GET", f"/v1/accounts/{server.sandbox}/chats/{CHAT}/ai")
    assert ai["mode"] == "disabled" and ai["custom_system_prompt"].startswith("You are"), ai
    expect(page.get_by_text("would not be answered")).to_be_visible()
    page.get_by_label("Blocked (messages are stored, never answered)", exact=True).check()
    page.get_by_role("form", name="Block").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Blocked.")).to_be_visible()
    status, chats = server.call("GET", f"/v1/accounts/{server.sandbox}/chats")
    assert chats["items"][0]["blocked"] is True, chats
    shot(page, "chat")


def test_a_skipped_reply_shows_its_reason_in_the_logs(page, server):
    inbound(server, "Anyone there?", "wamid.skip")
    status, logs = server.until(
        lambda: (lambda r: r if r[1]["items"] else None)(server.call("GET", "/v1/ai/logs?status=skipped")),
        "a skipped row",
    )
    reason = logs["items"][0]["reason"]
    assert reason, logs
    sign_in(page, server, "/dashboard/logs")
    page.get_by_label("Status", exact=True).select_option("skipped")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("skipped")
    expect(row).to_contain_text(reason)
    shot(page, "logs")


def test_a_failed_webhook_delivery_is_listed(page, server):
    closed = free_port()
    sign_in(page, server, "/dashboard/webhooks")
    page.get_by_label("URL", exact=True).fill(f"http://127.0.0.1:{closed}/hooks")
    page.get_by_role("button", name="Create webhook").click()
    expect(page.locator(".once code")).to_contain_text("whsec_")
    page.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_text("Test event sent")).to_be_visible()
    page.get_by_role("link", name=f"http://127.0.0.1:{closed}/hooks").click()
    # Wait for the system to record the failed attempt, then read it in the page.
    status, hooks = server.call("GET", "/v1/webhooks")
    hook = hooks["items"][0]["id"]
    server.until(lambda: server.call("GET", f"/v1/webhooks/{hook}/deliveries")[1]["items"], "the attempt")
    page.reload()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("failed")
    shot(page, "deliveries")


def test_an_api_key_is_shown_once(page, server):
    sign_in(page, server, "/dashboard/keys")
    page.get_by_label("Name", exact=True).fill("assistant")
    page.get_by_label("Rate per minute", exact=True).fill("30")
    page.get_by_role("button", name="Create key").click()
    key = page.locator(".once code").inner_text()
    assert key.startswith("sbk_"), key
    expect(page.get_by_role("cell", name="assistant", exact=True)).to_be_visible()
    shot(page, "keys")
    page.reload()
    expect(page.get_by_role("cell", name="assistant", exact=True)).to_be_visible()
    assert key not in page.content(), "shown once"
    status, keys = server.call("GET", "/v1/api-keys")
    assert keys["items"][0]["rate_limit_per_minute"] == 30, keys


def test_a_pending_message_is_confirmed_from_its_page_and_audited(page, server):
    status, key = server.call("POST", "/v1/api-keys", {
        "name": "careful", "phone_ids": ["*"], "channels": ["*"], "recipient_allowlist": None,
        "rate_limit_per_minute": 10, "require_confirmation": True})
    assert status == 201, key
    status, pending = server.call("POST", "/api/v1/messages", {
        "phone_id": server.sandbox, "channel": "sms", "to": "+15551234567",
        "text": "Your bike is ready."}, token=key["key"])
    assert status == 202 and pending["status"] == "pending_confirmation", pending
    sign_in(page, server, "/dashboard/pending")
    expect(page.get_by_role("link", name=f"Review {pending['id']}")).to_be_visible()
    shot(page, "pending")
    # The page the send's confirm_url names, as a person opens it from a link.
    assert pending["confirm_url"].startswith(server.base + "/dashboard/confirm/"), pending
    page.goto(pending["confirm_url"])
    expect(page.get_by_text("Your bike is ready.")).to_be_visible()
    shot(page, "confirm")
    page.get_by_role("button", name="Confirm and send").click()
    expect(page.locator(".message-status")).not_to_have_text("pending_confirmation")
    status, message = server.call("GET", f"/api/v1/messages/{pending['id']}")
    assert message["status"] in ("queued", "sending", "sent"), message
    page.get_by_role("link", name="Audit").click()
    expect(page.locator("tbody tr").first).to_contain_text("confirm")
    expect(page.locator("tbody tr").first).to_contain_text(pending["id"])
    shot(page, "audit")


UNLABELLED = """[...document.querySelectorAll('input, select, textarea')]
    .filter((e) => e.type !== 'hidden' && e.labels.length === 0)
    .map((e) => e.name)"""


def test_every_page_labels_its_fields_and_fits_a_phone(browser, server):
    """At 375 px (a small phone): nothing wider than the screen, every field labelled."""
    inbound(server, "Hello from a phone", "wamid.phone")
    context = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, server, "/dashboard/ai")
        expect(page.get_by_role("heading", name="Global settings")).to_be_visible()
        paths = {"overview": "/overview", "ai": "/ai", "accounts": "/accounts", "account": f"/accounts/{server.sandbox}",
                 "chat": f"/accounts/{server.sandbox}/chats/{CHAT}", "logs": "/logs", "webhooks": "/webhooks",
                 "keys": "/keys", "pending": "/pending", "audit": "/audit"}
        for name, path in paths.items():
            page.goto(server.base + "/dashboard" + path)
            expect(page.locator("main h1")).to_be_visible()
            page.wait_for_load_state("networkidle")
            assert page.evaluate(UNLABELLED) == [], path
            assert page.locator("main h1").count() == 1, f"one main heading on {path}"
            fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            assert fits, f"{path} is wider than a phone"
            shot(page, f"phone-{name}")
        # From the top of a loaded page the keyboard meets the skip link, then the navigation.
        page.reload()
        expect(page.locator("main h1")).to_be_visible()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('nav') !== null")
    finally:
        context.close()
