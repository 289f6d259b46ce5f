// The page's fetch layer against the mock server (test/mock-server.mjs), whose SSE writes are cut at odd
// byte offsets: what streams in must add up to what the non-streamed reply says.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthError, ApiError, buildRequest, listModels, streamChat } from '../../src/api.js';
import { ChatAccumulator } from '../../src/stream.js';
import { cannedReply, startMockServer } from '../mock-server.mjs';

let srv;
before(async () => { srv = await startMockServer({ apiKey: 'sk-test', delayMs: 0 }); });
after(async () => { await srv.close(); });

const messages = [{ role: 'user', content: 'Why? 😀' }];

test('buildRequest: extensions only where the mode uses them', () => {
  assert.deepEqual(buildRequest({ messages, mode: 'instant', agents: 4, thinkBudget: 100 }),
    { messages, stream: true, mode: 'instant', stream_options: { include_usage: true } });
  assert.deepEqual(buildRequest({ messages, mode: 'contemplating', agents: 3, aggregate: 'synthesize', thinkBudget: 64, stream: false }),
    { messages, stream: false, mode: 'contemplating', agents: 3, aggregate: 'synthesize', think_budget: 64 });
});

for (const mode of ['instant', 'thinking', 'contemplating']) {
  test(`streamed ${mode} reply adds up to the canned reply`, async () => {
    const acc = new ChatAccumulator();
    let chunks = 0;
    await streamChat({ baseUrl: srv.url, apiKey: 'sk-test', body: buildRequest({ messages, mode, agents: 3 }),
      onChunk: (c) => { chunks++; acc.apply(c); } });
    const want = cannedReply({ mode, agents: 3, messages });
    const s = acc.state;
    assert.ok(chunks > 10);
    assert.equal(s.content, want.answer);
    assert.equal(s.finishReason, 'stop');
    assert.equal(s.mode, mode);
    assert.ok(s.usage.completion_tokens > 0);
    if (mode === 'thinking') assert.equal(s.reasoning, want.lanes[0].reasoning);
    else assert.equal(s.reasoning, '');
    if (mode === 'contemplating') {
      assert.deepEqual(s.agents.map((a) => a.reasoning), want.lanes.map((l) => l.reasoning));
      assert.deepEqual(s.agents.map((a) => a.content), want.lanes.map((l) => l.draft));
      assert.deepEqual(s.agents.map((a) => a.answer), ['7', '7', '42']);
      assert.equal(s.aggregate.winner, 0);
    } else {
      assert.equal(s.agents.length, 0);
    }
  });
}

test('non-streamed reply goes through onChunk once', async () => {
  const got = [];
  await streamChat({ baseUrl: srv.url, apiKey: 'sk-test', body: buildRequest({ messages, mode: 'thinking', stream: false }), onChunk: (c) => got.push(c) });
  assert.equal(got.length, 1);
  assert.equal(got[0].object, 'chat.completion');
});

test('a missing key is an AuthError; models list works with the key', async () => {
  await assert.rejects(streamChat({ baseUrl: srv.url, body: buildRequest({ messages }), onChunk() {} }), (e) => e instanceof AuthError && e.status === 401 && /API key/.test(e.message));
  await assert.rejects(listModels({ baseUrl: srv.url, apiKey: 'wrong' }), AuthError);
  assert.deepEqual(await listModels({ baseUrl: srv.url, apiKey: 'sk-test' }), ['mock-model']);
});

test('a 400 carries the server message', async () => {
  await assert.rejects(streamChat({ baseUrl: srv.url, apiKey: 'sk-test', body: { messages: [] }, onChunk() {} }),
    (e) => e instanceof ApiError && !(e instanceof AuthError) && e.status === 400 && e.message === 'messages: required');
});

test('abort stops the stream with an AbortError', async () => {
  const slow = await startMockServer({ delayMs: 5 });
  try {
    const controller = new AbortController();
    let seen = 0;
    await assert.rejects(streamChat({ baseUrl: slow.url, body: buildRequest({ messages, mode: 'thinking' }), signal: controller.signal,
      onChunk: () => { if (++seen === 3) controller.abort(); } }), (e) => e.name === 'AbortError');
    assert.equal(seen, 3);
  } finally {
    await slow.close();
  }
});
