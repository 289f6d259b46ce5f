// Folds the chunks of one streamed chat completion into the state the page draws: the thinking, the
// answer, one lane per contemplating agent, the aggregation (vote / synthesis) and the usage.
// The wire format is muse serve's (docs/server.md, "Streaming wire format"): OpenAI
// "chat.completion.chunk" objects whose deltas may carry `reasoning_content`, and in contemplating mode
// `agent` (0-based; -1 the synthesizer), `agent_content`, `agent_progress` and `aggregation`, plus an
// `openmuse` object (mode, notes, timing) next to `choices` on the last chunk.
//
//   const acc = new ChatAccumulator();
//   acc.apply(JSON.parse(event.data));   // every SSE event other than "[DONE]"
//   acc.state  -> {content, reasoning, agents: [lane...], aggregate, usage, finishReason, notes, error}
//
// A non-streamed reply ("chat.completion") goes through applyCompletion(). Only choice 0 is drawn.
// Pure: no DOM, no I/O; malformed pieces are ignored rather than thrown.

export const SYNTHESIZER = -1;

// Whose text a delta is: an agent's lane (>= 0), the synthesizer (-1) or the final answer (null).
export function agentOf(delta) {
  const v = delta?.agent;
  return Number.isInteger(v) && v >= -1 ? v : null;
}

export function emptyLane(index) {
  return {
    index, reasoning: '', content: '', phase: null, reasoningTokens: null, contentTokens: null,
    stopped: false, answer: null, confidence: null, finish: null,
  };
}

export class ChatAccumulator {
  constructor() {
    this.state = {
      id: null,
      model: null,
      mode: null,
      content: '',
      reasoning: '',     // the single agent's thinking, or the synthesizer's in contemplating mode
      agents: [],        // lanes, by agent index
      aggregate: null,   // {method, answer, winner, candidates}
      finishReason: null,
      usage: null,       // {prompt_tokens, completion_tokens, total_tokens, completion_tokens_details}
      notes: [],
      timing: null,
      error: null,
    };
  }

  lane(i) {
    const agents = this.state.agents;
    while (agents.length <= i) agents.push(emptyLane(agents.length));
    return agents[i];
  }

  // Applies one streamed chunk; returns true when it carried anything that is drawn.
  apply(chunk) {
    const s = this.state;
    if (!chunk || typeof chunk !== 'object') return false;
    let changed = false;
    if (chunk.error) {
      s.error = typeof chunk.error === 'string' ? chunk.error : String(chunk.error.message ?? JSON.stringify(chunk.error));
      return true;
    }
    if (chunk.id && !s.id) s.id = chunk.id;
    if (chunk.model && !s.model) s.model = chunk.model;
    for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
      if ((choice?.index ?? 0) !== 0) continue;
      const d = choice.delta && typeof choice.delta === 'object' ? choice.delta : {};
      const agent = agentOf(d);
      const target = agent === null || agent === SYNTHESIZER ? s : this.lane(agent);
      if (typeof d.reasoning_content === 'string' && d.reasoning_content) {
        target.reasoning += d.reasoning_content;
        changed = true;
      }
      if (typeof d.content === 'string' && d.content) {
        if (agent === null) s.content += d.content;
        else target.content += d.content; // not in the format, but an agent's text never becomes the answer
        changed = true;
      }
      if (typeof d.agent_content === 'string' && d.agent_content && agent !== null && agent >= 0) {
        target.content += d.agent_content;
        changed = true;
      }
      if (Array.isArray(d.agent_progress)) {
        for (const p of d.agent_progress) this.applyProgress(p);
        changed = true;
      }
      if (d.aggregation && typeof d.aggregation === 'object') {
        this.applyAggregation(d.aggregation);
        changed = true;
      }
      if (choice.finish_reason) {
        s.finishReason = choice.finish_reason;
        changed = true;
      }
    }
    if (chunk.usage && typeof chunk.usage === 'object') {
      s.usage = chunk.usage;
      changed = true;
    }
    if (chunk.openmuse && typeof chunk.openmuse === 'object') {
      this.applyOpenmuse(chunk.openmuse);
      changed = true;
    }
    return changed;
  }

  applyProgress(p) {
    if (!p || !Number.isInteger(p.agent) || p.agent < 0) return;
    const lane = this.lane(p.agent);
    if (typeof p.phase === 'string') lane.phase = p.phase;
    if (Number.isFinite(p.reasoning_tokens)) lane.reasoningTokens = p.reasoning_tokens;
    if (Number.isFinite(p.content_tokens)) lane.contentTokens = p.content_tokens;
    if (p.stopped_early !== undefined) lane.stopped = !!p.stopped_early;
  }

  applyAggregation(agg) {
    this.state.aggregate = {
      method: typeof agg.method === 'string' ? agg.method : 'vote',
      answer: agg.answer ?? null,
      winner: Number.isInteger(agg.winner) ? agg.winner : null,
      candidates: Array.isArray(agg.candidates) ? agg.candidates : [],
    };
    for (const c of this.state.aggregate.candidates) {
      if (!c || !Number.isInteger(c.agent) || c.agent < 0) continue;
      const lane = this.lane(c.agent);
      if (c.answer !== undefined) lane.answer = c.answer;
      if (Number.isFinite(c.confidence)) lane.confidence = c.confidence;
    }
  }

  // The `openmuse` object: mode, notes, timing, and (non-streaming) aggregation and agents.
  applyOpenmuse(om) {
    const s = this.state;
    if (typeof om.mode === 'string') s.mode = om.mode;
    if (Array.isArray(om.notes)) s.notes = om.notes.map(String);
    if (om.timing && typeof om.timing === 'object') s.timing = om.timing;
    if (om.aggregation && typeof om.aggregation === 'object') this.applyAggregation(om.aggregation);
    if (Array.isArray(om.agents)) {
      om.agents.forEach((a, i) => {
        if (!a || typeof a !== 'object') return;
        const lane = this.lane(Number.isInteger(a.agent) && a.agent >= 0 ? a.agent : i);
        if (!lane.reasoning && typeof a.reasoning === 'string') lane.reasoning = a.reasoning;
        if (!lane.content && typeof a.content === 'string') lane.content = a.content;
        if (a.answer !== undefined) lane.answer = a.answer;
        if (Number.isFinite(a.confidence)) lane.confidence = a.confidence;
        if (Number.isFinite(a.reasoning_tokens)) lane.reasoningTokens = a.reasoning_tokens;
        if (Number.isFinite(a.content_tokens)) lane.contentTokens = a.content_tokens;
        if (a.stopped_early !== undefined) lane.stopped = !!a.stopped_early;
        if (typeof a.finish === 'string') lane.finish = a.finish;
        lane.phase = 'done';
      });
    }
  }

  // A whole "chat.completion" object (stream: false).
  applyCompletion(obj) {
    const s = this.state;
    if (obj?.error) return this.apply(obj);
    s.id = obj.id ?? null;
    s.model = obj.model ?? null;
    const choice = obj.choices?.[0];
    const m = choice?.message ?? {};
    s.content = typeof m.content === 'string' ? m.content : '';
    s.reasoning = typeof m.reasoning_content === 'string' ? m.reasoning_content : '';
    s.finishReason = choice?.finish_reason ?? null;
    s.usage = obj.usage ?? null;
    if (obj.openmuse && typeof obj.openmuse === 'object') this.applyOpenmuse(obj.openmuse);
    return true;
  }
}

// Tokens and timing of one reply, for the line under it. times: {start, firstToken, end} in ms.
export function replyStats(state, times) {
  const u = state.usage ?? {};
  const num = (v) => (Number.isFinite(v) ? v : null);
  const reasoningTokens = num(u.completion_tokens_details?.reasoning_tokens);
  const completion = num(u.completion_tokens);
  const totalMs = times.end != null ? times.end - times.start : null;
  const ttftMs = times.firstToken != null ? times.firstToken - times.start : null;
  let tokPerS = null;
  if (completion && times.firstToken != null && times.end != null && times.end > times.firstToken) {
    tokPerS = completion / ((times.end - times.firstToken) / 1000);
  }
  return {
    promptTokens: num(u.prompt_tokens),
    completionTokens: completion,
    reasoningTokens,
    answerTokens: completion != null && reasoningTokens != null ? completion - reasoningTokens : null,
    ttftMs,
    totalMs,
    tokPerS,
  };
}

export function formatStats(st) {
  const parts = [];
  if (st.promptTokens != null) parts.push(`${st.promptTokens} prompt`);
  if (st.completionTokens != null) {
    parts.push(`${st.completionTokens} generated${st.reasoningTokens ? ` (${st.reasoningTokens} thinking)` : ''}`);
  }
  if (parts.length) parts[parts.length - 1] += ' tokens';
  if (st.ttftMs != null) parts.push(`first token ${fmtMs(st.ttftMs)}`);
  if (st.totalMs != null) parts.push(`total ${fmtMs(st.totalMs)}`);
  if (st.tokPerS != null && Number.isFinite(st.tokPerS)) parts.push(`${st.tokPerS.toFixed(1)} tok/s`);
  return parts.join(' · ');
}

// How many candidates gave the chosen answer, e.g. {agreeing: 3, of: 4}; null without an aggregation.
export function voteCount(aggregate) {
  if (!aggregate || !Array.isArray(aggregate.candidates) || aggregate.candidates.length === 0) return null;
  const answer = aggregate.answer;
  if (answer == null || answer === '') return null; // nobody gave an extractable answer
  const agreeing = aggregate.candidates.filter((c) => c && c.answer != null && c.answer === answer).length;
  return { agreeing, of: aggregate.candidates.length };
}

function fmtMs(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
