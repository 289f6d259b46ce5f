// Conversations kept across page reloads, in the browser's localStorage (any object with
// getItem/setItem/removeItem works, so tests pass a Map-backed fake).
//
// One key holds the whole state as JSON:
//   {version: 1, currentId, settings: {mode, agents}, conversations: [{id, title, createdAt, updatedAt,
//    messages: [{role, content, reasoning?, agents?, aggregate?, stats?, mode?, error?, stopped?}]}]}
// A missing, unreadable or foreign value loads as an empty state (never throws). When the browser's quota
// is full, saving drops the agents' traces of old replies first, then the oldest conversations.

export const STORAGE_KEY = 'openmuse.chat.v1';
export const MODES = ['instant', 'thinking', 'contemplating'];

export function emptyState() {
  return { version: 1, currentId: null, settings: { mode: 'thinking', agents: 4 }, conversations: [] };
}

function validMessage(m) {
  return m && typeof m === 'object' && (m.role === 'user' || m.role === 'assistant') && typeof m.content === 'string';
}

export function loadState(storage, key = STORAGE_KEY) {
  let raw = null;
  try {
    raw = storage.getItem(key);
  } catch {
    return emptyState();
  }
  if (!raw) return emptyState();
  let obj;
  try {
    obj = JSON.parse(raw);
  } catch {
    return emptyState();
  }
  if (!obj || obj.version !== 1 || !Array.isArray(obj.conversations)) return emptyState();
  const state = emptyState();
  const s = obj.settings ?? {};
  if (MODES.includes(s.mode)) state.settings.mode = s.mode;
  if (Number.isInteger(s.agents) && s.agents >= 1 && s.agents <= 64) state.settings.agents = s.agents;
  for (const c of obj.conversations) {
    if (!c || typeof c.id !== 'string' || !Array.isArray(c.messages)) continue;
    state.conversations.push({
      id: c.id,
      title: typeof c.title === 'string' ? c.title : 'Conversation',
      createdAt: Number(c.createdAt) || 0,
      updatedAt: Number(c.updatedAt) || 0,
      messages: c.messages.filter(validMessage),
    });
  }
  if (state.conversations.some((c) => c.id === obj.currentId)) state.currentId = obj.currentId;
  return state;
}

function isQuotaError(e) {
  return e && (e.name === 'QuotaExceededError' || e.code === 22 || e.code === 1014);
}

// Saves the state; returns true when it was stored (possibly after trimming), false when even an empty
// conversation list does not fit (or storage is unavailable).
export function saveState(storage, state, key = STORAGE_KEY) {
  let s = state;
  for (let attempt = 0; attempt < 1000; attempt++) {
    try {
      storage.setItem(key, JSON.stringify(s));
      return true;
    } catch (e) {
      if (!isQuotaError(e)) return false;
      const next = trimmed(s);
      if (!next) return false;
      s = next;
    }
  }
  return false;
}

// One step of shrinking: drop the agent lanes of the oldest reply that has them, else the oldest
// conversation other than the current one, else the current one. null when nothing is left to drop.
function trimmed(state) {
  const convs = [...state.conversations].sort((a, b) => a.updatedAt - b.updatedAt);
  for (const c of convs) {
    const i = c.messages.findIndex((m) => Array.isArray(m.agents) && m.agents.length);
    if (i >= 0) {
      const messages = c.messages.map((m, j) => (j === i ? { ...m, agents: undefined } : m));
      return { ...state, conversations: state.conversations.map((x) => (x === c ? { ...c, messages } : x)) };
    }
  }
  if (state.conversations.length === 0) return null;
  const victim = convs.find((c) => c.id !== state.currentId) ?? convs[0];
  const conversations = state.conversations.filter((c) => c !== victim);
  return { ...state, conversations, currentId: conversations.some((c) => c.id === state.currentId) ? state.currentId : null };
}

export function newId() {
  const r = Math.random().toString(36).slice(2, 10);
  return `c${Date.now().toString(36)}${r}`;
}

export function createConversation(state, now = Date.now()) {
  const conv = { id: newId(), title: 'New chat', createdAt: now, updatedAt: now, messages: [] };
  state.conversations.unshift(conv);
  state.currentId = conv.id;
  return conv;
}

export function currentConversation(state) {
  return state.conversations.find((c) => c.id === state.currentId) ?? null;
}

export function deleteConversation(state, id) {
  state.conversations = state.conversations.filter((c) => c.id !== id);
  if (state.currentId === id) state.currentId = state.conversations[0]?.id ?? null;
}

// A short title from the first user message: its first line, at most 48 characters.
export function titleFrom(text) {
  const line = text.trim().split('\n')[0].replace(/\s+/g, ' ');
  if (!line) return 'New chat';
  return line.length > 48 ? `${line.slice(0, 47)}…` : line;
}

// The messages to send: role and content only. A reply that failed or came back empty is left out
// together with the question it answered, so roles still alternate (some chat templates insist).
export function apiMessages(conv) {
  const out = [];
  for (const m of conv.messages) {
    if (m.role === 'assistant' && (m.error || !m.content)) {
      if (out.length && out[out.length - 1].role === 'user') out.pop();
      continue;
    }
    out.push({ role: m.role, content: m.content });
  }
  return out;
}
