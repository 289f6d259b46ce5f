// The chat page: wires the DOM to the pure modules (store, api, stream, markdown).
// State lives in one object saved to localStorage after every change that should survive a reload
// (a sent message, a finished or stopped reply, a mode switch); a reply being streamed is drawn at most
// once per animation frame.

import { ApiError, AuthError, buildRequest, listModels, streamChat } from './api.js';
import { renderMarkdown } from './markdown.js';
import {
  apiMessages, createConversation, currentConversation, deleteConversation, loadState, MODES, saveState, titleFrom,
} from './store.js';
import { ChatAccumulator, formatStats, replyStats, voteCount } from './stream.js';

const KEY_STORAGE = 'openmuse.apiKey';
const $ = (id) => document.getElementById(id);

const ui = {
  conversations: $('conversations'), messages: $('messages'), empty: $('empty'), prompt: $('prompt'),
  send: $('send'), stop: $('stop'), agents: $('agents'), agentsValue: $('agents-value'), agentsField: $('agents-field'),
  keyForm: $('key-form'), apiKey: $('api-key'), keyHint: $('key-hint'), model: $('model-name'),
};

const state = loadState(window.localStorage);
let apiKey = window.localStorage.getItem(KEY_STORAGE) ?? '';
let inflight = null; // {controller, conv, msg}
const views = new WeakMap(); // message -> its element (kept out of the saved state)
const thinkingOpen = new WeakMap(); // message -> the reader's choice for its thinking block

function persist() {
  saveState(window.localStorage, state);
}

// ---- toolbar -------------------------------------------------------------------------------------

function drawSettings() {
  const { mode, agents } = state.settings;
  for (const b of document.querySelectorAll('.modes button')) {
    b.setAttribute('aria-checked', String(b.dataset.mode === mode));
  }
  ui.agentsField.hidden = mode !== 'contemplating';
  ui.agents.value = String(agents);
  ui.agentsValue.textContent = String(agents);
}

for (const b of document.querySelectorAll('.modes button')) {
  b.addEventListener('click', () => {
    if (!MODES.includes(b.dataset.mode)) return;
    state.settings.mode = b.dataset.mode;
    drawSettings();
    persist();
  });
}
ui.agents.addEventListener('input', () => {
  state.settings.agents = Number(ui.agents.value);
  ui.agentsValue.textContent = ui.agents.value;
  persist();
});

function showKeyField(message) {
  ui.keyForm.hidden = false;
  ui.keyHint.textContent = message || 'This server needs an API key.';
  ui.apiKey.value = apiKey;
  ui.apiKey.focus();
}

ui.keyForm.addEventListener('submit', (e) => {
  e.preventDefault();
  apiKey = ui.apiKey.value.trim();
  window.localStorage.setItem(KEY_STORAGE, apiKey);
  ui.keyForm.hidden = true;
  refreshModel();
  // The reply that was refused for want of a key is asked again.
  const conv = currentConversation(state);
  const last = conv?.messages[conv.messages.length - 1];
  if (last?.role === 'assistant' && last.authError) {
    conv.messages.pop();
    const question = conv.messages.pop();
    drawConversation();
    if (question?.role === 'user') send(question.content);
  }
});

async function refreshModel() {
  try {
    const ids = await listModels({ apiKey });
    ui.model.textContent = ids.length ? `model: ${ids[0]}` : '';
  } catch (e) {
    if (e instanceof AuthError) showKeyField(e.message);
    else ui.model.textContent = 'server not reachable';
  }
}

// ---- sidebar -------------------------------------------------------------------------------------

function drawSidebar() {
  ui.conversations.replaceChildren();
  for (const c of state.conversations) {
    const li = document.createElement('li');
    li.className = c.id === state.currentId ? 'current' : '';
    li.dataset.id = c.id;
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'open';
    open.textContent = c.title;
    open.title = c.title;
    open.addEventListener('click', () => {
      if (inflight) return;
      state.currentId = c.id;
      persist();
      drawAll();
    });
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'delete';
    del.textContent = '×';
    del.title = 'Delete conversation';
    del.addEventListener('click', () => {
      if (inflight?.conv === c) inflight.controller.abort();
      deleteConversation(state, c.id);
      persist();
      drawAll();
    });
    li.append(open, del);
    ui.conversations.append(li);
  }
}

$('new-chat').addEventListener('click', () => {
  if (inflight) return;
  const cur = currentConversation(state);
  if (!cur || cur.messages.length) createConversation(state);
  persist();
  drawAll();
  ui.prompt.focus();
});

// ---- messages ------------------------------------------------------------------------------------

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

function drawUser(msg) {
  const box = el('div', 'msg user');
  box.append(el('div', 'bubble', msg.content));
  return box;
}

// An assistant reply: thinking (collapsible), agent lanes, aggregation, answer, stats, error.
// Re-drawn whole on each frame while it streams; cheap for the sizes a chat reply has.
function drawAssistant(msg, box = el('div', 'msg assistant'), streaming = false) {
  box.replaceChildren();
  box.classList.toggle('streaming', streaming);
  if (msg.mode) box.dataset.mode = msg.mode;

  if (msg.reasoning) {
    const det = el('details', 'thinking');
    // Open while the model thinks, closed once the answer starts, unless the reader chose otherwise.
    det.open = thinkingOpen.has(msg) ? thinkingOpen.get(msg) : streaming && !msg.content;
    const tokens = msg.stats?.reasoningTokens;
    const summary = el('summary', null, streaming && !msg.content ? 'Thinking…' : `Thought${tokens ? ` for ${tokens} tokens` : ''}`);
    summary.addEventListener('click', () => thinkingOpen.set(msg, !det.open));
    det.append(summary);
    det.append(el('div', 'thinking-body', msg.reasoning));
    box.append(det);
  }

  if (Array.isArray(msg.agents) && msg.agents.length) {
    const lanes = el('div', 'lanes');
    const winner = msg.aggregate?.winner;
    for (const lane of msg.agents) {
      const l = el('div', 'lane');
      l.dataset.agent = String(lane.index);
      if (lane.stopped) l.classList.add('stopped');
      if (winner === lane.index) l.classList.add('winner');
      const h = el('h4', null);
      h.append(el('span', null, `Agent ${lane.index + 1}`));
      let tag = '';
      if (lane.answer != null && lane.answer !== '') tag = `→ ${lane.answer}`;
      else if (lane.stopped) tag = 'stopped early';
      else if (lane.phase) tag = lane.phase;
      else if (streaming) tag = lane.content ? 'answering…' : 'thinking…';
      if (lane.reasoningTokens != null || lane.contentTokens != null) {
        tag += ` (${(lane.reasoningTokens ?? 0) + (lane.contentTokens ?? 0)} tok)`;
      }
      h.append(el('span', 'lane-answer muted', tag));
      l.append(h, el('div', 'lane-thinking', lane.reasoning), el('div', 'lane-content', lane.content));
      lanes.append(l);
    }
    box.append(lanes);
  }

  if (msg.aggregate) box.append(el('div', 'aggregate', describeAggregate(msg.aggregate)));

  const answer = el('div', 'answer markdown');
  answer.innerHTML = renderMarkdown(msg.content);
  box.append(answer);

  if (msg.notes?.length) box.append(el('div', 'notes muted', msg.notes.join('\n')));
  if (msg.stopped) box.append(el('div', 'stopped-note', 'Stopped.'));
  else if (msg.finishReason === 'length') box.append(el('div', 'stopped-note', 'Cut off at the token limit.'));
  if (msg.error) box.append(el('div', 'error', msg.error));
  if (msg.stats) box.append(el('div', 'stats', formatStats(msg.stats)));
  return box;
}

function describeAggregate(agg) {
  const method = { vote: 'Majority vote', weighted: 'Confidence-weighted vote', synthesize: 'Synthesis' }[agg.method] ?? agg.method;
  const parts = [method];
  if (agg.answer != null && agg.answer !== '') parts.push(`answer: ${agg.answer}`);
  const votes = voteCount(agg);
  if (votes) parts.push(`${votes.agreeing} of ${votes.of} agents agree`);
  if (agg.winner === -1) parts.push('written by the synthesizer');
  else if (Number.isInteger(agg.winner)) parts.push(`shown: agent ${agg.winner + 1}'s answer`);
  return parts.join(' · ');
}

function drawConversation() {
  const conv = currentConversation(state);
  ui.messages.replaceChildren();
  if (!conv || conv.messages.length === 0) {
    ui.messages.append(ui.empty);
    return;
  }
  for (const m of conv.messages) {
    const box = m.role === 'user' ? drawUser(m) : drawAssistant(m);
    views.set(m, box);
    ui.messages.append(box);
  }
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function drawAll() {
  drawSettings();
  drawSidebar();
  drawConversation();
}

// ---- sending -------------------------------------------------------------------------------------

function hasText(s) {
  return !!(s.content || s.reasoning || s.agents.some((a) => a.reasoning || a.content));
}

function setBusy(busy) {
  ui.send.disabled = busy;
  ui.stop.hidden = !busy;
}

async function send(text) {
  if (inflight || !text.trim()) return;
  let conv = currentConversation(state) ?? createConversation(state);
  if (conv.messages.length === 0) conv.title = titleFrom(text);
  conv.messages.push({ role: 'user', content: text });
  const { mode, agents } = state.settings;
  const body = buildRequest({ messages: apiMessages(conv), mode, agents: mode === 'contemplating' ? agents : undefined });
  const msg = { role: 'assistant', content: '', reasoning: '', mode };
  conv.messages.push(msg);
  conv.updatedAt = Date.now();
  persist();
  drawSidebar();
  drawConversation();

  const controller = new AbortController();
  inflight = { controller, conv, msg };
  setBusy(true);
  const acc = new ChatAccumulator();
  const times = { start: performance.now(), firstToken: null, end: null };
  let frame = 0;
  const sync = () => {
    const s = acc.state;
    msg.content = s.content;
    msg.reasoning = s.reasoning;
    msg.agents = s.agents.length ? s.agents.map((a) => ({ ...a })) : undefined;
    msg.aggregate = s.aggregate ?? undefined;
    msg.notes = s.notes.length ? s.notes : undefined;
    if (s.finishReason) msg.finishReason = s.finishReason;
  };
  const redraw = () => {
    frame = 0;
    sync();
    const nearBottom = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 80;
    if (views.has(msg)) drawAssistant(msg, views.get(msg), true);
    if (nearBottom) ui.messages.scrollTop = ui.messages.scrollHeight;
  };
  try {
    await streamChat({
      apiKey,
      body,
      signal: controller.signal,
      onChunk: (chunk) => {
        if (chunk.object === 'chat.completion') acc.applyCompletion(chunk);
        else acc.apply(chunk);
        if (times.firstToken == null && hasText(acc.state)) {
          times.firstToken = performance.now();
        }
        if (!frame) frame = requestAnimationFrame(redraw);
      },
    });
    if (acc.state.error) msg.error = acc.state.error;
  } catch (e) {
    if (e?.name === 'AbortError') {
      msg.stopped = true;
    } else if (e instanceof AuthError) {
      msg.error = `The server refused the request: ${e.message}. Enter an API key above.`;
      msg.authError = true;
      showKeyField(e.message);
    } else if (e instanceof ApiError) {
      msg.error = `Server error ${e.status || ''}: ${e.message}`;
    } else {
      msg.error = `Request failed: ${e?.message ?? e}`;
    }
  } finally {
    if (frame) cancelAnimationFrame(frame);
    times.end = performance.now();
    sync();
    msg.stats = replyStats(acc.state, times);
    conv.updatedAt = Date.now();
    inflight = null;
    setBusy(false);
    persist();
    if (views.has(msg)) drawAssistant(msg, views.get(msg), false);
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }
}

ui.stop.addEventListener('click', () => inflight?.controller.abort());

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.prompt.value;
  if (!text.trim() || inflight) return;
  ui.prompt.value = '';
  send(text);
});
ui.prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $('composer').requestSubmit();
  }
});

drawAll();
refreshModel();
ui.prompt.focus();
