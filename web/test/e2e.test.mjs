// The built page in headless Chromium against the real `muse serve` and the small real model: a message
// in each mode, checked against what the server streamed for it, and a screenshot kept under
// build/web-test/ (MUSE_WEB_ARTIFACTS). stories260K has no think tokens, so its thinking mode answers
// without a thinking block (the server adds a note); the thinking block and distinct agent answers are
// covered against the mock server in e2e-mock.test.mjs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ChatAccumulator } from '../src/stream.js';
import { SseParser } from '../src/sse.js';
import { artifactsDir, chromiumPath, launchBrowser, museSetup, startMuse, webDir } from './helpers.mjs';

const setup = museSetup();
const skip = setup.why ?? (!chromiumPath() ? 'no Chromium at /usr/bin/chromium (set CHROMIUM)'
  : !existsSync(join(webDir, 'dist', 'index.html')) ? 'web/dist not built (npm run build)' : false);

let server, browser;
before(async () => {
  if (skip) return;
  server = await startMuse(setup);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

// What the server streamed for a request, folded the way the page folds it.
function replay(sseText) {
  const acc = new ChatAccumulator();
  const p = new SseParser();
  for (const ev of p.push(sseText)) if (ev.data !== '[DONE]') acc.apply(JSON.parse(ev.data));
  return acc.state;
}

const squash = (s) => s.replace(/\s+/g, ' ').trim();

test('real muse serve: a message in each mode', { skip, timeout: 90000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.url);
  await page.waitForSelector('#model-name:has-text("model:")');
  assert.equal(await page.isHidden('#key-form'), true, 'no key asked: the server has no keys');

  const cases = [['instant', 'Once upon a time'], ['thinking', 'The little dog'], ['contemplating', 'Lily saw a bird']];
  for (const [mode, text] of cases) {
    // One conversation per mode: the model's context is short (512), a growing chat would outgrow it.
    await page.click('#new-chat');
    await page.click(`.modes button[data-mode="${mode}"]`);
    if (mode === 'contemplating') await page.locator('#agents').fill('2');
    const response = page.waitForResponse((r) => r.url().endsWith('/v1/chat/completions'));
    await page.fill('#prompt', text);
    await page.press('#prompt', 'Enter');
    const res = await response;
    const sent = JSON.parse(res.request().postData());
    assert.equal(sent.mode, mode);
    assert.equal(sent.stream, true);
    assert.equal(sent.messages.at(-1).content, text);
    const streamed = replay(new TextDecoder().decode(await res.body()));  // UTF-8, whatever the header says
    await page.waitForSelector('#send:not([disabled])', { timeout: 60000 });

    const last = page.locator('.msg.assistant').last();
    assert.equal(await last.locator('.error').count(), 0, `error shown in ${mode}`);
    const shown = squash(await last.locator('.answer').innerText());
    assert.ok(streamed.content.length > 0, `${mode}: the server sent no answer`);
    assert.ok(shown.length > 0, `${mode}: the page shows no answer`);
    // Markdown may turn a few characters into markup; the words must be the streamed ones.
    assert.equal(shown.replace(/[*_`#>]/g, ''), squash(streamed.content).replace(/[*_`#>]/g, ''), `${mode}: shown answer differs from the stream`);
    const stats = await last.locator('.stats').innerText();
    assert.match(stats, new RegExp(`^${streamed.usage.prompt_tokens} prompt · ${streamed.usage.completion_tokens} generated`));
    assert.match(stats, /first token \d+/);
    if (mode === 'contemplating') {
      assert.equal(await last.locator('.lane').count(), 2);
      assert.equal(streamed.agents.length, 2);
      for (const lane of streamed.agents) {
        const shownLane = squash(await last.locator(`.lane[data-agent="${lane.index}"]`).innerText());
        assert.ok(shownLane.includes(squash(lane.reasoning + ' ' + lane.content).slice(0, 40)), `lane ${lane.index}`);
      }
      assert.match(await last.locator('.aggregate').innerText(), /vote/i);
    } else {
      assert.equal(await last.locator('.lane').count(), 0);
    }
  }
  await page.screenshot({ path: join(artifactsDir(), 'chat-muse.png') });

  // The conversations survive a reload.
  const answer = await page.locator('.msg.assistant .answer').last().innerText();
  await page.reload();
  await page.waitForSelector('.msg.assistant');
  assert.equal(await page.locator('#conversations li').count(), 3);
  assert.equal(await page.locator('#conversations li.current .open').innerText(), 'Lily saw a bird');
  assert.equal(await page.locator('.msg.assistant .answer').last().innerText(), answer);
  assert.equal(await page.locator('.msg.assistant .lane').count(), 2);
  assert.deepEqual(errors, []);
  await page.close();
});
