// Server-sent events parser (the text/event-stream format of the HTML standard, section 9.2.6).
//
// Network reads split the stream anywhere: inside a line, between "\r" and "\n", inside a multi-byte
// character. The caller decodes bytes with a streaming TextDecoder (so characters are whole) and feeds
// the text here in any pieces; events come out only when their blank line has arrived.
//
//   const p = new SseParser();
//   for (const ev of p.push(text)) ...   // ev = {event, data, id}
//   for (const ev of p.end()) ...        // the stream closed: a last event without its blank line is dropped,
//                                        // as the standard says
// Pure: no I/O, no globals.

export class SseParser {
  constructor() {
    this.buffer = '';      // text after the last complete line
    this.pendingCr = false; // the previous piece ended in "\r": a leading "\n" of the next belongs to it
    this.data = [];
    this.event = '';
    this.lastId = '';
  }

  // Feeds a piece of text; returns the events completed by it.
  push(text) {
    const out = [];
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    let buf = this.buffer + text;
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(buf.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < buf.length) {
          if (buf.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    this.buffer = buf.slice(start);
    return out;
  }

  // The stream has ended.
  end() {
    this.buffer = '';
    this.data = [];
    this.event = '';
    return [];
  }

  line(line, out) {
    if (line === '') {
      if (this.data.length > 0) {
        out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.lastId });
      }
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return; // comment (keep-alive)
    const colon = line.indexOf(':');
    let field = line;
    let value = '';
    if (colon >= 0) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
    }
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    // "retry" and unknown fields are ignored
  }
}

// Reads a fetch Response body as SSE events; yields each event as it completes.
export async function* readSse(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
    parser.end();
  } finally {
    reader.releaseLock();
  }
}
