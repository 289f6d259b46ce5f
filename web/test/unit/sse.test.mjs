import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSse, SseParser } from '../../src/sse.js';

const STREAM =
  ': keep-alive\n' +
  'data: {"a":1}\n\n' +
  'event: note\r\ndata: line one\r\ndata: line two\r\n\r\n' +
  'id: 7\rdata: é😀 unicode\r\r' +
  'data:no-space\n\n' +
  'data\n\n' +
  'retry: 10\nunknown: x\ndata: [DONE]\n\n';

const EXPECTED = [
  { event: 'message', data: '{"a":1}', id: '' },
  { event: 'note', data: 'line one\nline two', id: '' },
  { event: 'message', data: 'é😀 unicode', id: '7' },
  { event: 'message', data: 'no-space', id: '7' },
  { event: 'message', data: '', id: '7' },
  { event: 'message', data: '[DONE]', id: '7' },
];

function feed(pieces) {
  const p = new SseParser();
  const out = [];
  for (const piece of pieces) out.push(...p.push(piece));
  out.push(...p.end());
  return out;
}

test('whole stream in one piece', () => {
  assert.deepEqual(feed([STREAM]), EXPECTED);
});

test('every split point into two pieces gives the same events', () => {
  for (let i = 0; i <= STREAM.length; i++) {
    assert.deepEqual(feed([STREAM.slice(0, i), STREAM.slice(i)]), EXPECTED, `split at ${i}`);
  }
});

test('one character at a time (a CR and its LF in different pieces)', () => {
  assert.deepEqual(feed([...STREAM]), EXPECTED);
});

test('an event without its closing blank line is dropped at the end', () => {
  assert.deepEqual(feed(['data: a\n\ndata: b\n']), [{ event: 'message', data: 'a', id: '' }]);
});

test('a lone CR at the end of a piece followed by a non-LF piece ends the line', () => {
  assert.deepEqual(feed(['data: x\r', '\rdata: y\n\n']), [
    { event: 'message', data: 'x', id: '' },
    { event: 'message', data: 'y', id: '' },
  ]);
});

test('readSse over bytes split inside multi-byte characters', async () => {
  const bytes = new TextEncoder().encode(STREAM);
  // Pseudo-random cut points, deterministic: every 1-5 bytes.
  const parts = [];
  let seed = 12345;
  for (let i = 0; i < bytes.length; ) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (seed % 5);
    parts.push(bytes.slice(i, i + n));
    i += n;
  }
  const body = new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(p);
      c.close();
    },
  });
  const got = [];
  for await (const ev of readSse(body)) got.push(ev);
  assert.deepEqual(got, EXPECTED);
});
