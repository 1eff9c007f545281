// The live event stream (GET /events, server-sent events) read with fetch(), so that the
// access token goes in the Authorization header: EventSource cannot send one, and a token
// must never be put in a URL. Reconnects with a growing delay; stops when the token expires.

import { headers, signedIn, url } from "./api.js";

export function openStream(onEvent, onState) {
  let controller = null;
  let stopped = false;
  let delay = 1000;

  async function run() {
    while (!stopped && signedIn()) {
      controller = new AbortController();
      try {
        onState("connecting");
        const resp = await fetch(url("/events"), { headers: headers(), signal: controller.signal, cache: "no-store" });
        if (!resp.ok) {
          onState(resp.status === 401 ? "expired" : `error ${resp.status}`);
          if (resp.status === 401) {
            onEvent("expired", {});
            return;
          }
        } else {
          onState("live");
          delay = 1000;
          if (await read(resp.body, onEvent)) return; // token expired
        }
      } catch (e) {
        if (stopped) return;
        onState("reconnecting");
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }

  run();
  return () => {
    stopped = true;
    if (controller) controller.abort();
  };
}

async function read(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) kind = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (!data) continue; // a keep-alive comment
      onEvent(kind, JSON.parse(data));
      if (kind === "expired") return true;
    }
  }
}
