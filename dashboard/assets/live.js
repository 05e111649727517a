// Polling for pages that stay open: one small request every few seconds while the page is
// shown and the tab visible; none once the operator navigates away.

const EVERY_MS = 3000;

/**
 * Runs `tick()` every few seconds while `el` is in the document, one at a time and not while
 * the tab is hidden. The returned function runs a tick now (after a send, say), after the one
 * in flight.
 */
export function every(el, tick) {
  let running = null;
  const run = () => {
    running ??= tick().catch(() => {}).finally(() => { running = null; });
    return running;
  };
  const loop = () => setTimeout(async () => {
    if (!el.isConnected) return;
    if (!document.hidden) await run();
    loop();
  }, EVERY_MS);
  loop();
  return async () => {
    await running;
    return run();
  };
}
