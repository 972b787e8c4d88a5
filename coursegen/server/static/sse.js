// Read a job's event stream: EventSource without a key, fetch (which can send one) with it.
import { apiKey, authHeaders } from "./api.js";

// Follow `url` (its `after=` names the last event applied) and report through `on`:
// event({type, data, lastEventId}), open(), lost(), gaveUp() (the browser stopped retrying),
// refused(response) (401 or 404 on the fetch path). `on.lastId()` and `on.ended()` say where to
// resume and when to stop. Returns {close}.
export function subscribe(url, types, on) {
  return apiKey() ? subscribeWithFetch(url, on) : subscribeWithEventSource(url, types, on);
}

function subscribeWithEventSource(url, types, on) {
  const source = new EventSource(url);
  let closed = false;
  for (const type of types) source.addEventListener(type, on.event);
  source.addEventListener("open", () => on.open());
  source.addEventListener("error", () => {
    if (closed || on.ended()) return;
    on.lost();
    if (source.readyState === EventSource.CLOSED) {
      closed = true;
      on.gaveUp();
    }
  });
  return {
    close: () => {
      closed = true;
      source.close();
    },
  };
}

// A tiny EventSource over fetch (for API keys): same events, same resume-after-id rule.
function subscribeWithFetch(url, on) {
  const abort = new AbortController();
  const run = async () => {
    let delay = 500;
    while (!abort.signal.aborted && !on.ended()) {
      try {
        const after = on.lastId();
        const response = await fetch(url.replace(/after=\d+/, `after=${after}`), {
          headers: authHeaders({ Accept: "text/event-stream", "Last-Event-ID": String(after) }),
          signal: abort.signal,
          cache: "no-store",
        });
        if (response.status === 401 || response.status === 404) {
          on.refused(response);
          return;
        }
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        on.open();
        delay = 500;
        await readEvents(response.body, abort.signal, on.event);
      } catch {
        if (abort.signal.aborted) return;
      }
      if (on.ended() || abort.signal.aborted) return;
      on.lost();
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5000);
    }
  };
  run();
  return { close: () => abort.abort() };
}

// Parse text/event-stream (CRLF, CR or LF line ends; comments skipped) into events.
async function readEvents(body, signal, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let fields = { data: [] };
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r\n|\r(?!$)|\n/);
    buffer = lines.pop(); // an unfinished line (or a lone "\r" that may be half of "\r\n")
    for (const line of lines) {
      if (line === "") {
        if (fields.data.length) {
          onEvent({
            type: fields.event || "message",
            data: fields.data.join("\n"),
            lastEventId: fields.id || "",
          });
        }
        fields = { data: [] };
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (name === "data") fields.data.push(value);
        else fields[name] = value;
      }
    }
  }
}
