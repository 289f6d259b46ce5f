import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiMessages, createConversation, currentConversation, deleteConversation, emptyState, loadState, saveState, STORAGE_KEY, titleFrom,
} from '../../src/store.js';

// localStorage stand-in; quota (in characters) makes setItem throw like a full browser store.
class FakeStorage {
  constructor(quota = Infinity) { this.map = new Map(); this.quota = quota; }
  getItem(k) { return this.map.has(k) ? this.map.get(k) : null; }
  setItem(k, v) {
    if (String(v).length > this.quota) { const e = new Error('full'); e.name = 'QuotaExceededError'; throw e; }
    this.map.set(k, String(v));
  }
  removeItem(k) { this.map.delete(k); }
}

test('round trip: conversations, messages, settings and the current one survive', () => {
  const st = new FakeStorage();
  const s = emptyState();
  s.settings = { mode: 'contemplating', agents: 6 };
  const a = createConversation(s, 1);
  a.title = titleFrom('What is 17 * 23?\nsecond line');
  a.messages.push({ role: 'user', content: 'What is 17 * 23?' });
  a.messages.push({ role: 'assistant', content: '391', reasoning: 'r', agents: [{ index: 0, reasoning: 'x', content: 'y' }],
    aggregate: { method: 'vote', answer: '391', winner: 0, candidates: [] }, stats: { totalMs: 5 }, mode: 'contemplating' });
  const b = createConversation(s, 2);
  b.messages.push({ role: 'user', content: 'ünïcode 😀' });
  assert.equal(saveState(st, s), true);
  const back = loadState(st);
  assert.deepEqual(back, JSON.parse(JSON.stringify(s)));
  assert.equal(back.currentId, b.id);
  assert.equal(currentConversation(back).messages[0].content, 'ünïcode 😀');
  assert.equal(back.conversations[1].title, 'What is 17 * 23?');
});

test('missing, corrupt or foreign data loads as an empty state', () => {
  const st = new FakeStorage();
  assert.deepEqual(loadState(st), emptyState());
  for (const bad of ['{', 'null', '[]', '{"version":2,"conversations":[]}', '{"version":1}']) {
    st.setItem(STORAGE_KEY, bad);
    assert.deepEqual(loadState(st), emptyState(), bad);
  }
  const throwing = { getItem() { throw new Error('denied'); } };
  assert.deepEqual(loadState(throwing), emptyState());
});

test('bad entries are dropped, good ones kept', () => {
  const st = new FakeStorage();
  st.setItem(STORAGE_KEY, JSON.stringify({
    version: 1, currentId: 'gone', settings: { mode: 'bogus', agents: 1000 },
    conversations: [
      { id: 'a', title: 'A', messages: [{ role: 'user', content: 'hi' }, { role: 'system', content: 'x' }, { role: 'assistant' }, 7] },
      { id: 5, messages: [] }, null,
    ],
  }));
  const s = loadState(st);
  assert.equal(s.conversations.length, 1);
  assert.deepEqual(s.conversations[0].messages, [{ role: 'user', content: 'hi' }]);
  assert.equal(s.currentId, null);
  assert.deepEqual(s.settings, emptyState().settings);
});

test('a full store drops agent traces first, then the oldest conversations', () => {
  const s = emptyState();
  const old = createConversation(s, 1);
  old.messages.push({ role: 'user', content: 'old '.repeat(50) });
  const cur = createConversation(s, 2);
  cur.messages.push({ role: 'user', content: 'q' });
  cur.messages.push({ role: 'assistant', content: 'a', agents: [{ index: 0, reasoning: 'z'.repeat(2000), content: '' }] });
  const size = JSON.stringify(s).length;
  // Room for everything but the agent lanes.
  const st = new FakeStorage(size - 1500);
  assert.equal(saveState(st, s), true);
  let back = loadState(st);
  assert.equal(back.conversations.length, 2);
  assert.equal(back.conversations[0].messages[1].agents, undefined);
  assert.equal(back.conversations[0].messages[1].content, 'a');
  // Room for the current conversation only.
  const st2 = new FakeStorage(300);
  assert.equal(saveState(st2, s), true);
  back = loadState(st2);
  assert.deepEqual(back.conversations.map((c) => c.id), [cur.id]);
  assert.equal(back.currentId, cur.id);
  // The caller's state is not changed by trimming.
  assert.equal(s.conversations.length, 2);
  assert.equal(s.conversations[0].messages[1].agents.length, 1);
  // No room at all.
  assert.equal(saveState(new FakeStorage(10), s), false);
});

test('delete moves to another conversation; titles; API messages', () => {
  const s = emptyState();
  const a = createConversation(s, 1);
  const b = createConversation(s, 2);
  deleteConversation(s, b.id);
  assert.equal(s.currentId, a.id);
  deleteConversation(s, a.id);
  assert.equal(s.currentId, null);
  assert.equal(titleFrom('   '), 'New chat');
  assert.equal(titleFrom('x'.repeat(100)).length, 48);
  const conv = { messages: [
    { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1', reasoning: 'r', stats: {} },
    { role: 'user', content: 'q2' }, { role: 'assistant', content: '', error: 'boom' },
    { role: 'user', content: 'q3' },
  ] };
  assert.deepEqual(apiMessages(conv), [
    { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'q3' },
  ]);
});
