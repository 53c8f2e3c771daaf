/** One server-sent event. `event` is `message` when the server named none. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * Parses a `text/event-stream` body into events, as the WHATWG spec says: `field: value` lines,
 * comment lines starting with `:` (keep-alives), multi-line `data`, and a blank line ending each
 * event. Written here because Node 20 has no EventSource.
 */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    // A lone "\r" at the end may be half of "\r\n": wait for the next chunk before splitting it.
    let match = /\r\n|\n|\r(?!$)/.exec(buffer);
    while (match !== null) {
      const line = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      if (line === "") {
        if (data.length > 0) yield { event: event === "" ? "message" : event, data: data.join("\n"), id };
        event = "";
        data = [];
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
      }
      match = /\r\n|\n|\r(?!$)/.exec(buffer);
    }
  }
}
