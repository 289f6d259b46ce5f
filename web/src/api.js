// Talks to `muse serve`: builds a chat-completion request for a mode and streams the reply.
// Only fetch and the SSE parser; the DOM is not touched here, so tests run it against a mock server.
//
//   const body = buildRequest({messages, mode: 'contemplating', agents: 4});
//   const res = await streamChat({baseUrl: '', apiKey, body, signal, onChunk});
// Errors: a 401 throws AuthError (the page then asks for a key); any other HTTP error throws ApiError
// with the server's message; an aborted fetch throws the DOMException 'AbortError' of fetch.

import { readSse } from './sse.js';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export class AuthError extends ApiError {
  constructor(message) {
    super(401, message);
    this.name = 'AuthError';
  }
}

// The request body. OpenMuse extensions (docs/server.md): mode, agents (contemplating only),
// aggregate, think_budget. Undefined options are left out so the server's defaults apply.
export function buildRequest({ messages, mode = 'thinking', agents, aggregate, thinkBudget, maxTokens, model, stream = true }) {
  const body = { messages, stream, mode };
  if (model) body.model = model;
  if (stream) body.stream_options = { include_usage: true };
  if (mode === 'contemplating' && Number.isInteger(agents)) body.agents = agents;
  if (mode === 'contemplating' && aggregate) body.aggregate = aggregate;
  if (mode !== 'instant' && Number.isInteger(thinkBudget)) body.think_budget = thinkBudget;
  if (Number.isInteger(maxTokens)) body.max_tokens = maxTokens;
  return body;
}

function headers(apiKey) {
  const h = { 'Content-Type': 'application/json', Accept: 'text/event-stream, application/json' };
  if (apiKey) h.Authorization = `Bearer ${apiKey}`;
  return h;
}

async function errorFrom(res) {
  let message = `${res.status} ${res.statusText}`;
  try {
    const text = await res.text();
    try {
      const obj = JSON.parse(text);
      message = obj?.error?.message ?? obj?.message ?? message;
    } catch {
      if (text.trim()) message = text.trim().slice(0, 500);
    }
  } catch {
    // body unreadable: keep the status line
  }
  return res.status === 401 ? new AuthError(message) : new ApiError(res.status, message);
}

// Sends the request and calls onChunk(obj) for every parsed chunk (streaming), or once with the whole
// completion object (stream: false). Resolves when the server has finished.
export async function streamChat({ baseUrl = '', apiKey, body, signal, onChunk, fetchImpl = fetch }) {
  const res = await fetchImpl(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: headers(apiKey),
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok) throw await errorFrom(res);
  const type = res.headers.get('content-type') ?? '';
  if (!type.includes('text/event-stream')) {
    onChunk(await res.json());
    return;
  }
  for await (const ev of readSse(res.body)) {
    if (ev.data === '[DONE]') return;
    let obj;
    try {
      obj = JSON.parse(ev.data);
    } catch {
      throw new ApiError(0, `the server sent an event that is not JSON: ${ev.data.slice(0, 200)}`);
    }
    onChunk(obj);
  }
}

export async function listModels({ baseUrl = '', apiKey, signal, fetchImpl = fetch }) {
  const res = await fetchImpl(`${baseUrl}/v1/models`, { headers: headers(apiKey), signal });
  if (!res.ok) throw await errorFrom(res);
  const obj = await res.json();
  return Array.isArray(obj?.data) ? obj.data.map((m) => m.id) : [];
}
