// The official `openai` npm client against a running `muse serve` with the small real model
// (stories260K by default, see helpers.mjs): models list, non-streaming and streaming chat completions in
// each mode, the OpenMuse extensions passed as extra body fields, and API keys.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { museSetup, startMuse } from './helpers.mjs';

const setup = museSetup();
const skip = setup.why ?? false;
let server, client;

before(async () => {
  if (skip) return;
  server = await startMuse(setup);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60000 });
});
after(async () => {
  await server?.stop();
});

const question = [{ role: 'user', content: 'Once upon a time' }];

test('models list has the one served model', { skip }, async () => {
  const models = [];
  for await (const m of client.models.list()) models.push(m);
  assert.equal(models.length, 1);
  assert.equal(typeof models[0].id, 'string');
  assert.ok(models[0].id.length > 0);
  assert.equal(models[0].object, 'model');
});

test('non-streaming and streaming instant replies agree (greedy)', { skip }, async () => {
  const body = { model: 'stories', messages: question, mode: 'instant', temperature: 0, max_tokens: 24, seed: 1 };
  const full = await client.chat.completions.create(body);
  assert.equal(full.object, 'chat.completion');
  assert.equal(full.model, 'stories');
  const msg = full.choices[0].message;
  assert.equal(msg.role, 'assistant');
  assert.ok(msg.content.length > 0);
  assert.ok(['stop', 'length'].includes(full.choices[0].finish_reason));
  assert.ok(full.usage.prompt_tokens > 0);
  assert.ok(full.usage.completion_tokens > 0 && full.usage.completion_tokens <= 24);
  assert.equal(full.usage.total_tokens, full.usage.prompt_tokens + full.usage.completion_tokens);

  const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
  let content = '';
  let finish = null;
  let usage = null;
  let n = 0;
  for await (const chunk of stream) {
    n++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) {
      assert.equal(ch.delta.reasoning_content, undefined, 'instant mode has no thinking');
      content += ch.delta.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.ok(n > 2, `only ${n} chunks`);
  assert.equal(content, msg.content);
  assert.equal(finish, full.choices[0].finish_reason);
  assert.deepEqual(usage.completion_tokens, full.usage.completion_tokens);
});

test('thinking mode streams and reports usage', { skip }, async () => {
  const stream = await client.chat.completions.create({
    messages: question, mode: 'thinking', think_budget: 16, max_tokens: 32, stream: true, stream_options: { include_usage: true },
  });
  let content = '';
  let usage = null;
  let notes = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    if (chunk.openmuse) notes = chunk.openmuse.notes;
    for (const ch of chunk.choices) content += ch.delta.content ?? '';
  }
  assert.ok(content.length > 0);
  assert.ok(usage.completion_tokens > 0 && usage.completion_tokens <= 32);
  assert.ok(usage.completion_tokens_details.reasoning_tokens <= 16);
  assert.ok(Array.isArray(notes));
});

test('contemplating mode streams one lane per agent, then the answer', { skip }, async () => {
  const agents = 3;
  const stream = await client.chat.completions.create({
    messages: question, mode: 'contemplating', agents, max_tokens: 16, seed: 5, stream: true, stream_options: { include_usage: true },
  });
  const laneText = new Map();
  let content = '';
  let aggregation = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) {
      const d = ch.delta;
      if (Number.isInteger(d.agent) && d.agent >= 0) {
        assert.equal(d.content, undefined, 'an agent\'s text never goes into content');
        laneText.set(d.agent, (laneText.get(d.agent) ?? '') + (d.reasoning_content ?? '') + (d.agent_content ?? ''));
      } else {
        content += d.content ?? '';
      }
      if (d.aggregation) aggregation = d.aggregation;
    }
  }
  assert.deepEqual([...laneText.keys()].sort(), [0, 1, 2]);
  for (const [i, t] of laneText) assert.ok(t.length > 0, `agent ${i} wrote nothing`);
  assert.ok(aggregation, 'no aggregation delta');
  assert.equal(aggregation.method, 'vote');
  // Only agents whose answer could be extracted are candidates (a story may hold no answer at all).
  assert.ok(Array.isArray(aggregation.candidates) && aggregation.candidates.length <= agents);
  assert.ok(Number.isInteger(aggregation.winner) && aggregation.winner >= -1 && aggregation.winner < agents);
  assert.ok(content.length > 0);
  assert.ok(usage.completion_tokens >= agents, 'usage counts every agent');
});

test('with --api-keys the client needs its key', { skip }, async () => {
  const keys = join(tmpdir(), `muse-web-keys-${process.pid}.txt`);
  writeFileSync(keys, '# test key\nsk-web-test  webtest\n');
  const keyed = await startMuse({ ...setup, extraArgs: ['--api-keys', keys] });
  try {
    const without = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(without.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    const withKey = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'sk-web-test', maxRetries: 0 });
    const r = await withKey.chat.completions.create({ messages: question, mode: 'instant', max_tokens: 4 });
    assert.ok(r.choices[0].message.content.length > 0);
  } finally {
    await keyed.stop();
    rmSync(keys, { force: true });
  }
});
