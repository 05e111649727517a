"""The operator's inbox in a real browser: a conversation that updates itself, an answer from
the composer that reaches the provider and takes over from the AI until "resume AI", templates
when WhatsApp's window is closed, transcripts, names instead of ids, and the overview's counts,
each checked through the API or at the faked provider."""

import base64
import re

from playwright.sync_api import expect

from conftest import shot, sign_in
from upstream import (ACCESS_TOKEN, APP_SECRET, BUSINESS_ACCOUNT_ID, CUSTOMER, PHONE_NUMBER_ID, TRANSCRIPT,
                      whatsapp_notification)

ANN = "15551234567@s.whatsapp.net"
TAKEOVER = "a human of the account replied in this chat"


def ingest(server, text, message_id, chat=ANN, media=None, account=None, token=None, name="Ann"):
    body = {"message_id": message_id, "chat_id": chat, "from": chat, "text": text, "push_name": name}
    if media:
        body["media"] = media
    status, answer = server.call("POST", f"/v1/ingest/{account or server.sandbox}", body, token=token or server.sandbox_token)
    assert status in (200, 202), answer


def use_ai(server, upstream):
    """AI replies on at the global level, answered at once by the faked OpenAI-compatible API."""
    status, body = server.call("PUT", "/v1/ai/global", {
        "enabled": True, "base_url": upstream.base + "/v1", "api_key": "sk-dashboard", "reply_delay_seconds": 0,
        "debounce_seconds": 0})
    assert status == 200, body


def logs(server, account):
    return server.call("GET", f"/v1/ai/logs?account_id={account}&limit=100")[1]["items"]


def settled(server, account, n):
    """The account's AI log rows once `n` of them are decided (skipped, sent or failed)."""
    return server.until(lambda: (lambda rows: rows if sum(r["status"] != "generated" for r in rows) >= n else None)(
        logs(server, account)), f"{n} settled log rows")


def messages(server, chat=ANN, account=None):
    return server.call("GET", f"/v1/accounts/{account or server.sandbox}/chats/{chat}/messages?limit=100")[1]["items"]


def whatsapp_account(server, name="Bike shop"):
    status, account = server.call("POST", "/v1/accounts", {"name": name, "provider": "whatsapp_cloud", "provider_config": {
        "phone_number_id": PHONE_NUMBER_ID, "access_token": ACCESS_TOKEN, "app_secret": APP_SECRET,
        "business_account_id": BUSINESS_ACCOUNT_ID}})
    assert status == 201, account
    return account["id"]


def notify(server, account, wamid, text, **kw):
    body, signature = whatsapp_notification(wamid, text, **kw)
    status, answer = server.call("POST", f"/v1/ingest/whatsapp/{account}", raw=body,
                                 headers={"X-Hub-Signature-256": signature})
    assert status == 200, answer


def test_the_conversation_is_live_and_a_human_answer_takes_over_until_resumed(page, server, upstream):
    use_ai(server, upstream)
    ingest(server, "Hi, is my order on its way?", "wamid.live-1")
    settled(server, server.sandbox, 1)
    sign_in(page, server, f"/dashboard/accounts/{server.sandbox}/chats/{ANN}")
    conversation = page.get_by_role("list", name="messages, oldest first")
    expect(conversation).to_contain_text("We can do Saturday at 10.")
    page.evaluate("window.notReloaded = true")

    # The customer writes while the page is open: it appears, without a reload.
    ingest(server, "Are you still there?", "wamid.live-2")
    expect(conversation.locator("li").filter(has_text="Are you still there?")).to_be_visible(timeout=10000)
    assert page.evaluate("window.notReloaded") is True

    # Shift+Enter is a new line; Enter sends, as the account, and the AI steps back.
    composer = page.get_by_label("Message", exact=True)
    composer.fill("A colleague is checking now.")
    composer.press("Shift+Enter")
    composer.type("One moment please.")
    assert composer.input_value() == "A colleague is checking now.\nOne moment please."
    composer.press("Enter")
    expect(composer).to_have_value("")
    mine = conversation.locator("li.account_human")
    expect(mine).to_contain_text("One moment please.")
    expect(mine).to_contain_text("human")
    expect(page.get_by_text("AI paused: a human is answering until")).to_be_visible()
    sent = next(m for m in messages(server) if m["text"] == "A colleague is checking now.\nOne moment please.")
    assert sent["origin"] == "account_human" and sent["from_me"] is True, sent
    server.until(lambda: next(m for m in messages(server) if m["id"] == sent["id"])["status"] == "sent", "the send")
    shot(page, "inbox-chat")

    # The customer's next message is not answered by the AI: a human has taken over.
    ingest(server, "Thanks!", "wamid.live-3")
    rows = settled(server, server.sandbox, 3)
    assert rows[0]["status"] == "skipped" and rows[0]["reason"].startswith(TAKEOVER), rows[0]
    expect(conversation.locator("li").filter(has_text="Thanks!")).to_be_visible()

    # "Resume AI" hands the chat back: the next message is answered, and shows up here.
    page.get_by_role("button", name="Resume AI").click()
    expect(page.get_by_text("AI paused: a human is answering until")).to_have_count(0)
    status, chat = server.call("GET", f"/v1/accounts/{server.sandbox}/chats/{ANN}")
    assert chat["ai_paused_until"] is None, chat
    ingest(server, "One more thing: do you fix brakes?", "wamid.live-4")
    rows = settled(server, server.sandbox, 4)
    assert rows[0]["status"] == "sent", rows[0]
    expect(conversation.locator("li.ai")).to_have_count(3)


def test_a_whatsapp_answer_reaches_the_graph_api_and_a_closed_window_offers_templates(page, server, upstream):
    account = whatsapp_account(server)
    chat = f"{CUSTOMER}@s.whatsapp.net"
    notify(server, account, "wamid.open-1", "Can I pick it up today?")
    sign_in(page, server, f"/dashboard/accounts/{account}/chats/{chat}")
    expect(page.get_by_role("heading", name="Sheena Nelson", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name="Bike shop")).to_be_visible()
    expect(page.get_by_text("WhatsApp window open until")).to_be_visible()
    page.get_by_label("Message", exact=True).fill("Yes, until six.")
    page.get_by_label("Message", exact=True).press("Enter")
    upstream_send = server.until(lambda: next((b for b in upstream.sends() if b.get("type") == "text"), None), "a send")
    assert upstream_send["to"] == CUSTOMER and upstream_send["text"]["body"] == "Yes, until six.", upstream_send
    expect(page.locator("li.account_human .badge")).to_have_text("sent")

    # Another customer last wrote 25 hours ago: only a template can reach them.
    late = "16505550000"
    notify(server, account, "wamid.late-1", "Hello?", seconds_ago=25 * 3600, customer=late, name="Omar")
    page.goto(f"{server.base}/dashboard/accounts/{account}/chats/{late}@s.whatsapp.net")
    expect(page.get_by_text("The 24-hour WhatsApp window is closed")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_have_count(0)
    template = page.get_by_label("Template", exact=True)
    expect(template.locator("option")).to_have_count(1)  # the PAUSED one is not offered
    expect(template).to_contain_text("order_ready")
    page.get_by_label("Body {{first_name}}", exact=True).fill("Omar")
    page.get_by_label("Body {{model}}", exact=True).fill("Cargo 2")
    shot(page, "inbox-template")
    page.get_by_role("button", name="Send template").click()
    expect(page.get_by_text("Template sent.")).to_be_visible()
    sent = server.until(lambda: next((b for b in upstream.sends() if b.get("type") == "template"), None), "a template")
    assert sent["to"] == late and sent["template"]["name"] == "order_ready", sent
    parameters = sent["template"]["components"][0]["parameters"]
    assert {p["parameter_name"]: p["text"] for p in parameters} == {"first_name": "Omar", "model": "Cargo 2"}, sent
    expect(page.get_by_role("list", name="messages, oldest first")).to_contain_text(
        "Hi Omar, your bike Cargo 2 is ready for pickup.")


def test_a_voice_note_shows_its_transcript(page, server, upstream):
    use_ai(server, upstream)
    ingest(server, "I have a question", "wamid.voice-0")
    settled(server, server.sandbox, 1)
    sign_in(page, server, f"/dashboard/accounts/{server.sandbox}/chats/{ANN}")
    expect(page.get_by_role("heading", name="Conversation")).to_be_visible()
    page.wait_for_load_state("networkidle")
    # While nothing happens, the open page asks only what changed since its last poll: no
    # reload of the conversation, no other request.
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/v1/" in r.url else None)
    for _ in range(2):
        with page.expect_request(lambda r: "/changes?since=" in r.url, timeout=10000):
            pass
    assert asked and all("/changes?since=" in u for u in asked), asked
    ogg = base64.b64encode(b"OggS" + bytes(60)).decode()
    ingest(server, None, "wamid.voice-1", media={"kind": "audio", "mime_type": "audio/ogg", "data_base64": ogg})
    voice = page.get_by_role("list", name="messages, oldest first").locator("li").filter(has_text="Voice note")
    expect(voice).to_contain_text(f"Transcript: {TRANSCRIPT}", timeout=10000)
    shot(page, "inbox-voice")


def test_pages_name_accounts_and_chats(page, server, upstream):
    status, created = server.call("POST", "/v1/accounts", {"name": "Harbour Bikes", "provider": "sandbox"})
    assert status == 201, created
    account, token = created["account"]["id"] if "account" in created else created["id"], created["token"]
    ingest(server, "Hello harbour", "wamid.name-1", account=account, token=token)
    settled(server, account, 1)
    sign_in(page, server, "/dashboard/logs")
    choose = page.get_by_label("Account", exact=True)
    expect(choose.locator("option", has_text="Harbour Bikes")).to_have_count(1)
    choose.select_option(label="Harbour Bikes")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(f"account_id={account}"))
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Harbour Bikes")
    assert account not in row.inner_text(), "the name, not the id"
    row.get_by_role("link", name=ANN).click()
    expect(page.get_by_role("heading", name="Ann", level=1)).to_be_visible()
    crumbs = page.get_by_role("navigation", name="breadcrumb")
    expect(crumbs.get_by_role("link", name="Harbour Bikes")).to_be_visible()
    assert account not in crumbs.inner_text()
    crumbs.get_by_role("link", name="Harbour Bikes").click()
    expect(page.get_by_role("heading", name="Harbour Bikes", level=1)).to_be_visible()
    # A new message moves its chat to the top of the open list.
    ingest(server, "Me too", "wamid.name-2", chat="15550009999@s.whatsapp.net", account=account, token=token, name="Bo")
    first_row = page.locator("table.chats tbody tr").first
    expect(first_row).to_contain_text("Bo", timeout=10000)
    ingest(server, "Back again", "wamid.name-3", account=account, token=token)
    expect(first_row).to_contain_text("Ann", timeout=10000)
    expect(page.locator("table.chats tbody tr")).to_have_count(2)
    shot(page, "account-chats")


def test_the_overview_counts_what_happened(page, server, upstream):
    use_ai(server, upstream)
    ingest(server, "Hi", "wamid.o-1")
    settled(server, server.sandbox, 1)
    ingest(server, "And the price?", "wamid.o-2")
    settled(server, server.sandbox, 2)
    blocked = "15550001234@s.whatsapp.net"
    server.call("PUT", f"/v1/accounts/{server.sandbox}/chats/{blocked}/block", {"blocked": True})
    ingest(server, "Buy followers", "wamid.o-3", chat=blocked)
    settled(server, server.sandbox, 3)
    taken = "15550005678@s.whatsapp.net"
    status, sent = server.call("POST", f"/v1/accounts/{server.sandbox}/messages",
                               {"chat_id": taken, "text": "Hello from the shop", "pause_ai": True})
    assert status == 202, sent
    server.until(lambda: messages(server, taken)[0]["status"] == "sent", "the human's send")
    expected = {"messages_in": 3, "messages_out": 3, "ai_sent": 2, "ai_skipped": 1, "ai_failed": 0}

    def counted():
        status, overview = server.call("GET", "/v1/overview")
        return next(a for a in overview["items"] if a["account_id"] == server.sandbox)["activity"]

    # A step counts its events right after it queues them: wait for the last one's count.
    server.until(lambda: counted() == expected, f"the counts {expected}")

    sign_in(page, server, "/dashboard/")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    card = page.get_by_role("region", name=re.compile("^sandbox"))
    counts = card.get_by_label("sandbox, last 24 hours")
    for label, key in (("in", "messages_in"), ("out", "messages_out"), ("AI sent", "ai_sent"),
                       ("AI skipped", "ai_skipped"), ("AI failed", "ai_failed")):
        expect(counts.locator(".count").filter(has=page.locator(f"text='{label}'")).locator(".n")).to_have_text(str(expected[key]))
    attention = card.get_by_role("listitem")
    expect(attention).to_have_count(1)
    expect(attention).to_contain_text(taken)
    expect(attention).to_contain_text("a human is answering")
    shot(page, "overview")


def test_older_messages_load_as_the_operator_scrolls_up(page, server):
    for i in range(1, 56):
        ingest(server, f"message {i}", f"wamid.scroll-{i}")
    sign_in(page, server, f"/dashboard/accounts/{server.sandbox}/chats/{ANN}")
    conversation = page.get_by_role("list", name="messages, oldest first")
    expect(conversation).to_contain_text("message 55")
    expect(conversation.locator("li")).to_have_count(50)  # the first read: the newest 50
    expect(conversation.locator("li").filter(has_text=re.compile("^message 1\\b"))).to_have_count(0)
    page.get_by_role("region", name="scrollable messages").evaluate("box => { box.scrollTop = 0; }")
    expect(conversation.locator("li")).to_have_count(55)
    expect(conversation.locator("li").first).to_contain_text("message 1")
    expect(page.get_by_role("button", name="Older messages")).to_be_hidden()
