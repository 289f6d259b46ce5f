// A small stand-in for `muse serve` that speaks the wire format of docs/server.md, for developing the
// page and for the page's own tests of what a real model cannot be made to do on demand (several agents
// with distinct answers, a split of every SSE write at odd byte offsets, a 401). Replies are canned
// and depend only on the request. Serves dist/ at / like the real server.
//
//   node test/mock-server.mjs [--port 8090] [--api-key KEY]
//   import { startMockServer } from './mock-server.mjs'; const srv = await startMockServer({apiKey});
//   srv.url, await srv.close()
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.txt': 'text/plain' };

function error(res, status, type, message, code = null) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type, param: null, code } }));
}

// The canned reply of a request: per agent a thinking text and a draft answer, and the final answer.
export function cannedReply(body) {
  const mode = body.mode ?? 'thinking';
  const question = String(body.messages?.at(-1)?.content ?? '');
  const agents = mode === 'contemplating' ? Math.max(1, Math.min(8, body.agents ?? 4)) : 1;
  const answer = `You asked: *${question}*. Here is some code:\n\n\`\`\`python\nprint("héllo 😀")\n\`\`\`\n`;
  // Model output is untrusted: the page must not run this.
  const hostile = '\n<img src="x" onerror="window.__xss=1"><script>window.__xss=2</script>\n';
  const lanes = [];
  for (let i = 0; i < agents; i++) {
    const a = i === agents - 1 && agents > 2 ? '42' : '7';  // the last of 3+ agents disagrees
    lanes.push({ reasoning: `Agent ${i} thinks step by step about ${question}. `.repeat(2), draft: `The answer is ${a}.`, answer: a });
  }
  return { mode, agents, lanes, answer: answer + hostile };
}

function chunk(id, delta, extra = {}, finish = null) {
  return { id, object: 'chat.completion.chunk', created: 1763800000, model: 'mock', choices: [{ index: 0, delta, finish_reason: finish }], ...extra };
}

function usageOf(reply) {
  const reasoning = reply.mode === 'instant' ? 0 : reply.lanes.length * 20;
  return { prompt_tokens: 11, completion_tokens: reasoning + 12 * reply.lanes.length, total_tokens: 11 + reasoning + 12 * reply.lanes.length,
    completion_tokens_details: { reasoning_tokens: reasoning } };
}

// Splits a string into pieces of 1..7 words so the page sees many small deltas.
function pieces(text) {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

async function stream(res, body, delayMs) {
  const reply = cannedReply(body);
  const id = 'chatcmpl-mock';
  const events = [chunk(id, { role: 'assistant', content: '' })];
  if (reply.mode === 'contemplating') {
    const longest = Math.max(...reply.lanes.map((l) => pieces(l.reasoning).length));
    for (let k = 0; k < longest; k++) {
      reply.lanes.forEach((l, i) => {
        const p = pieces(l.reasoning)[k];
        if (p) events.push(chunk(id, { reasoning_content: p, agent: i }));
      });
    }
    reply.lanes.forEach((l, i) => events.push(chunk(id, { agent_content: l.draft, agent: i })));
    events.push(chunk(id, { agent_progress: reply.lanes.map((l, i) => ({ agent: i, phase: 'done', reasoning_tokens: 20, content_tokens: 12, stopped_early: false })) }));
    const candidates = reply.lanes.map((l, i) => ({ agent: i, answer: l.answer, confidence: 1.5 - i * 0.1 }));
    events.push(chunk(id, { aggregation: { method: body.aggregate ?? 'vote', answer: '7', winner: 0, candidates } }));
  } else if (reply.mode === 'thinking') {
    for (const p of pieces(reply.lanes[0].reasoning)) events.push(chunk(id, { reasoning_content: p }));
  }
  for (const p of pieces(reply.answer)) events.push(chunk(id, { content: p }));
  events.push(chunk(id, {}, { openmuse: { mode: reply.mode, notes: [], timing: { wall_seconds: 0.1 } } }, 'stop'));
  if (body.stream_options?.include_usage) events.push({ id, object: 'chat.completion.chunk', created: 1763800000, model: 'mock', choices: [], usage: usageOf(reply) });
  const text = ': ping\n\n' + events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';
  const bytes = Buffer.from(text, 'utf8');
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  // Writes at odd byte offsets: inside lines, inside JSON, inside multi-byte characters.
  let seed = 7;
  for (let i = 0; i < bytes.length; ) {
    if (res.destroyed) return;
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (seed % 97);
    res.write(bytes.subarray(i, i + n));
    i += n;
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  }
  res.end();
}

function complete(res, body) {
  const reply = cannedReply(body);
  const message = { role: 'assistant', content: reply.answer };
  if (reply.mode === 'thinking') message.reasoning_content = reply.lanes[0].reasoning;
  const out = { id: 'chatcmpl-mock', object: 'chat.completion', created: 1763800000, model: body.model ?? 'mock',
    choices: [{ index: 0, message, finish_reason: 'stop' }], usage: usageOf(reply), openmuse: { mode: reply.mode, notes: [] } };
  if (reply.mode === 'contemplating') {
    out.openmuse.aggregation = { method: 'vote', answer: '7', winner: 0, candidates: reply.lanes.map((l, i) => ({ agent: i, answer: l.answer, confidence: 1 })) };
    out.openmuse.agents = reply.lanes.map((l, i) => ({ agent: i, answer: l.answer, content: l.draft, reasoning: l.reasoning, finish: 'eog' }));
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(out));
}

export async function startMockServer({ port = 0, apiKey = null, webRoot = join(here, '..', 'dist'), delayMs = 2 } = {}) {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/v1/')) {
      if (apiKey && req.headers.authorization !== `Bearer ${apiKey}`) {
        return error(res, 401, 'authentication_error', 'missing or unknown API key', 'invalid_api_key');
      }
      if (url.pathname === '/v1/models' && req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end(JSON.stringify({ object: 'list', data: [{ id: 'mock-model', object: 'model', created: 0, owned_by: 'openmuse' }] }));
      }
      if (url.pathname === '/v1/chat/completions' && req.method === 'POST') {
        let raw = '';
        for await (const c of req) raw += c;
        let body;
        try {
          body = JSON.parse(raw);
        } catch {
          return error(res, 400, 'invalid_request_error', 'malformed JSON');
        }
        if (!Array.isArray(body.messages) || body.messages.length === 0) return error(res, 400, 'invalid_request_error', 'messages: required');
        return body.stream ? stream(res, body, delayMs) : complete(res, body);
      }
      return error(res, 404, 'not_found_error', `unknown path ${url.pathname}`);
    }
    const rel = normalize(url.pathname === '/' ? '/index.html' : url.pathname);
    if (rel.includes('..')) return error(res, 404, 'not_found_error', 'no such file');
    try {
      const data = await readFile(join(webRoot, rel));
      res.writeHead(200, { 'Content-Type': TYPES[extname(rel)] ?? 'application/octet-stream' });
      res.end(data);
    } catch {
      error(res, 404, 'not_found_error', 'no such file');
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address();
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
  const srv = await startMockServer({ port: Number(arg('--port') ?? 8090), apiKey: arg('--api-key') ?? null, delayMs: 10 });
  console.log(`mock muse serve at ${srv.url}`);
}
