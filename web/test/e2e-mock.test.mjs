// The page in headless Chromium against the mock server (test/mock-server.mjs): what the real small model
// cannot show on demand (a thinking block, agents with different answers, a server that wants a key).
// The same page against the real `muse serve` is e2e.test.mjs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { artifactsDir, chromiumPath, launchBrowser, webDir } from './helpers.mjs';
import { startMockServer } from './mock-server.mjs';

const skip = !chromiumPath() ? 'no Chromium at /usr/bin/chromium (set CHROMIUM)'
  : !existsSync(join(webDir, 'dist', 'index.html')) ? 'web/dist not built (npm run build)' : false;

let srv, browser;
before(async () => {
  if (skip) return;
  srv = await startMockServer({ apiKey: 'sk-e2e', delayMs: 1 });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await srv?.close();
});

async function ask(page, text) {
  await page.fill('#prompt', text);
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('#send:not([disabled])', { timeout: 15000 });
}

test('mock server: key prompt, three modes, lanes, stop, reload', { skip, timeout: 60000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(srv.url);

  // The models list is refused: the key field shows; the key is kept in localStorage.
  await page.waitForSelector('#key-form:not([hidden])');
  await page.fill('#api-key', 'sk-e2e');
  await page.click('#key-form button');
  await page.waitForSelector('#model-name:has-text("mock-model")');

  // Instant: an answer with a highlighted code block, no thinking block.
  await page.click('.modes button[data-mode="instant"]');
  assert.equal(await page.isHidden('#agents-field'), true);
  await ask(page, 'first question');
  let last = page.locator('.msg.assistant').last();
  assert.match(await last.locator('.answer').innerText(), /You asked: first question/);
  assert.equal(await last.locator('.answer em').innerText(), 'first question');
  assert.equal(await last.locator('pre code.language-python .hljs-built_in').innerText(), 'print');
  assert.equal(await last.locator('details.thinking').count(), 0);
  assert.match(await last.locator('.stats').innerText(), /11 prompt · \d+ generated tokens · first token/);
  // The hostile HTML in the reply is rendered inert.
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.equal(await last.locator('.answer script, .answer [onerror]').count(), 0);
  assert.match(await last.locator('.answer').innerText(), /<script>window.__xss=2<\/script>/);

  // Thinking: a collapsible thinking block, closed once the answer is there.
  await page.click('.modes button[data-mode="thinking"]');
  await ask(page, 'second');
  last = page.locator('.msg.assistant').last();
  const details = last.locator('details.thinking');
  assert.equal(await details.count(), 1);
  assert.equal(await details.evaluate((d) => d.open), false);
  await details.locator('summary').click();
  assert.match(await details.locator('.thinking-body').innerText(), /Agent 0 thinks step by step about second/);
  assert.match(await last.locator('.stats').innerText(), /\(20 thinking\)/);

  // Contemplating with 3 agents: three lanes, the winner marked, the vote summarised.
  await page.click('.modes button[data-mode="contemplating"]');
  await page.locator('#agents').fill('3');
  assert.equal(await page.locator('#agents-value').innerText(), '3');
  await ask(page, 'third');
  last = page.locator('.msg.assistant').last();
  assert.equal(await last.locator('.lane').count(), 3);
  assert.match(await last.locator('.lane[data-agent="2"] .lane-answer').innerText(), /→ 42/);
  assert.match(await last.locator('.lane[data-agent="1"] .lane-thinking').innerText(), /Agent 1 thinks/);
  assert.equal(await last.locator('.lane.winner').getAttribute('data-agent'), '0');
  assert.match(await last.locator('.aggregate').innerText(), /Majority vote · answer: 7 · 2 of 3 agents agree/);
  await page.screenshot({ path: join(artifactsDir(), 'chat-mock.png'), fullPage: true });

  // Stop: slow the stream down by asking the mock's slow path? The mock is fast; abort right after send.
  await page.click('.modes button[data-mode="thinking"]');
  await page.fill('#prompt', 'to be stopped');
  await page.evaluate(() => {
    document.getElementById('composer').requestSubmit();
    document.getElementById('stop').click();
  });
  await page.waitForSelector('#send:not([disabled])');
  last = page.locator('.msg.assistant').last();
  assert.equal(await last.locator('.stopped-note').innerText(), 'Stopped.');

  // Reload: the conversation, the mode and the agents count are still there.
  await page.reload();
  await page.waitForSelector('.msg.assistant');
  assert.equal(await page.locator('.msg.user').count(), 4);
  assert.equal(await page.locator('.msg.assistant .lane').count(), 3);
  assert.equal(await page.locator('.modes button[aria-checked="true"]').innerText(), 'Thinking');
  assert.equal(await page.locator('#conversations li').count(), 1);
  assert.equal(await page.locator('#conversations li .open').innerText(), 'first question');
  await page.click('#new-chat');
  assert.equal(await page.locator('.msg').count(), 0);
  assert.equal(await page.locator('#conversations li').count(), 2);
  assert.deepEqual(errors, []);
  await page.close();
});
