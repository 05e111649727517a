// Names for ids: the accounts, read at most every half minute (a page that names several
// accounts asks once), so pages say "Bike shop", not "acc_01J...".

import { get, query } from "./api.js";

const FRESH_MS = 30_000;
let accounts = null;
let readAt = 0;

async function load() {
  const found = new Map();
  let cursor = null;
  for (let i = 0; i < 5; i++) {
    const page = await get(`/v1/accounts${query({ limit: 200, cursor })}`);
    for (const a of page.items) found.set(a.id, a);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return found;
}

/** Every account (up to the first 1,000), by id. */
export function accountsById() {
  if (!accounts || Date.now() - readAt > FRESH_MS) {
    readAt = Date.now();
    accounts = load();
    accounts.catch(() => { accounts = null; });
  }
  return accounts;
}

/** After an account is created, renamed or deleted. */
export function forgetAccounts() {
  accounts = null;
}

/** A chat as people know it: the name the provider gave, else its id. */
export const chatName = (chat, id) => chat?.name || id || chat?.chat_id;
