import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatAccumulator, formatStats, replyStats, voteCount } from '../../src/stream.js';

const c = (delta, extra = {}, finish = null) => ({ id: 'x', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], ...extra });

test('thinking mode: reasoning_content and content are kept apart', () => {
  const acc = new ChatAccumulator();
  for (const ch of [
    c({ role: 'assistant', content: '' }),
    c({ reasoning_content: 'Let me ' }),
    c({ reasoning_content: 'think.' }),
    c({ content: 'The answer' }),
    c({ content: ' is 4.' }),
    c({}, { openmuse: { mode: 'thinking', notes: ['no think tokens'] } }, 'stop'),
    { id: 'x', choices: [], usage: { prompt_tokens: 5, completion_tokens: 9, completion_tokens_details: { reasoning_tokens: 4 } } },
  ]) acc.apply(ch);
  const s = acc.state;
  assert.equal(s.reasoning, 'Let me think.');
  assert.equal(s.content, 'The answer is 4.');
  assert.equal(s.finishReason, 'stop');
  assert.equal(s.mode, 'thinking');
  assert.deepEqual(s.notes, ['no think tokens']);
  assert.equal(s.usage.completion_tokens, 9);
  assert.equal(s.agents.length, 0);
});

test('contemplating: each agent gets its own lane; only agent-less content is the answer', () => {
  const acc = new ChatAccumulator();
  const chunks = [
    c({ role: 'assistant', content: '' }),
    c({ reasoning_content: 'a0 ', agent: 0 }),
    c({ reasoning_content: 'b2 ', agent: 2 }),
    c({ reasoning_content: 'a0b', agent: 0 }),
    c({ agent_content: 'The answer is 7.', agent: 0 }),
    c({ agent_content: 'The answer is 9.', agent: 2 }),
    c({ agent_progress: [{ agent: 0, phase: 'done', reasoning_tokens: 3, content_tokens: 5 }, { agent: 1, phase: 'thinking', stopped_early: true }] }),
    c({ aggregation: { method: 'vote', answer: '7', winner: 0, candidates: [{ agent: 0, answer: '7', confidence: 1.5 }, { agent: 1, answer: '7' }, { agent: 2, answer: '9' }] } }),
    c({ reasoning_content: 'synth ', agent: -1 }),
    c({ content: 'Seven.' }),
    c({}, {}, 'stop'),
  ];
  for (const ch of chunks) acc.apply(ch);
  const s = acc.state;
  assert.equal(s.content, 'Seven.');
  assert.equal(s.reasoning, 'synth ', 'the synthesizer (-1) is the top-level thinking');
  assert.equal(s.agents.length, 3);
  assert.deepEqual(s.agents.map((a) => a.reasoning), ['a0 a0b', '', 'b2 ']);
  assert.deepEqual(s.agents.map((a) => a.content), ['The answer is 7.', '', 'The answer is 9.']);
  assert.deepEqual(s.agents.map((a) => a.answer), ['7', '7', '9']);
  assert.equal(s.agents[0].phase, 'done');
  assert.equal(s.agents[0].reasoningTokens, 3);
  assert.equal(s.agents[1].stopped, true);
  assert.equal(s.agents[0].confidence, 1.5);
  assert.equal(s.aggregate.winner, 0);
  assert.deepEqual(voteCount(s.aggregate), { agreeing: 2, of: 3 });
});

test('choices other than index 0 and malformed pieces are ignored', () => {
  const acc = new ChatAccumulator();
  acc.apply(null);
  acc.apply('text');
  acc.apply({ choices: [{ index: 1, delta: { content: 'other' } }] });
  acc.apply({ choices: [{ index: 0, delta: { content: 5, reasoning_content: null, agent_progress: [null, { agent: 'x' }] } }] });
  acc.apply({ choices: [{ index: 0, delta: { agent: 1.5, content: 'ok' } }] });
  acc.apply({ choices: 'nope' });
  assert.equal(acc.state.content, 'ok');
  assert.equal(acc.state.agents.length, 0);
});

test('an error event after the stream started is kept', () => {
  const acc = new ChatAccumulator();
  acc.apply(c({ content: 'part' }));
  acc.apply({ error: { message: 'engine failed', type: 'server_error' } });
  assert.equal(acc.state.error, 'engine failed');
  assert.equal(acc.state.content, 'part');
});

test('non-streamed completion with contemplating extras', () => {
  const acc = new ChatAccumulator();
  acc.applyCompletion({
    id: 'y', object: 'chat.completion', model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: '391', reasoning_content: 'hmm' }, finish_reason: 'length' }],
    usage: { prompt_tokens: 1, completion_tokens: 2 },
    openmuse: { mode: 'contemplating', aggregation: { method: 'weighted', answer: '391', winner: 1, candidates: [] },
      agents: [{ agent: 0, answer: '390', reasoning: 'r0', content: 'c0', finish: 'eog' }, { agent: 1, answer: '391', stopped_early: true }] },
  });
  const s = acc.state;
  assert.equal(s.content, '391');
  assert.equal(s.reasoning, 'hmm');
  assert.equal(s.finishReason, 'length');
  assert.equal(s.aggregate.method, 'weighted');
  assert.deepEqual(s.agents.map((a) => [a.answer, a.reasoning, a.content, a.stopped]), [['390', 'r0', 'c0', false], ['391', '', '', true]]);
  assert.equal(voteCount(s.aggregate), null);
  // Candidates without an extractable answer do not 'agree' on the empty one.
  assert.equal(voteCount({ answer: '', candidates: [{ agent: 0, answer: '' }, { agent: 1, answer: '' }] }), null);
});

test('stats: tokens from usage, latency from the times', () => {
  const st = replyStats({ usage: { prompt_tokens: 10, completion_tokens: 50, completion_tokens_details: { reasoning_tokens: 30 } } },
    { start: 1000, firstToken: 1250, end: 3250 });
  assert.deepEqual(st, { promptTokens: 10, completionTokens: 50, reasoningTokens: 30, answerTokens: 20, ttftMs: 250, totalMs: 2250, tokPerS: 25 });
  assert.equal(formatStats(st), '10 prompt · 50 generated (30 thinking) tokens · first token 250 ms · total 2.25 s · 25.0 tok/s');
  const none = replyStats({ usage: null }, { start: 0, firstToken: null, end: 40 });
  assert.equal(formatStats(none), 'total 40 ms');
});
