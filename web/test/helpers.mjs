// Shared by the tests that need a real `muse serve` or a browser: where the binary, the model and
// Chromium are, starting and stopping the server, and where artifacts (screenshots) go.
//
// Environment: MUSE_BIN (default ../build/release/muse), MUSE_MODEL (default
// <shared data>/models/stories260K.gguf), MUSE_SHARED_DATA (default ../../shared/data),
// CHROMIUM (default /usr/bin/chromium), MUSE_WEB_ARTIFACTS (default ../build/web-test).
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoDir = resolve(webDir, '..');

function executable(p) {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function artifactsDir() {
  const dir = process.env.MUSE_WEB_ARTIFACTS ?? join(repoDir, 'build', 'web-test');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function chromiumPath() {
  const p = process.env.CHROMIUM ?? '/usr/bin/chromium';
  return executable(p) ? p : null;
}

// {bin, model} when a muse binary with the serve command and the model are there; else {why}.
export function museSetup() {
  const bin = process.env.MUSE_BIN ?? join(repoDir, 'build', 'release', 'muse');
  const shared = process.env.MUSE_SHARED_DATA ?? resolve(repoDir, '..', 'shared', 'data');
  const model = process.env.MUSE_MODEL ?? join(shared, 'models', 'stories260K.gguf');
  if (!executable(bin)) return { why: `no muse binary at ${bin} (build it, or set MUSE_BIN)` };
  if (!existsSync(model)) return { why: `no model at ${model} (set MUSE_MODEL)` };
  const help = spawnSync(bin, ['serve', '--help'], { encoding: 'utf8', timeout: 10000 });
  // An unknown subcommand's --help prints the main help (exit 0): look for a flag only serve has.
  if (help.status !== 0 || !/--web-root/.test(help.stdout ?? '')) return { why: `${bin} has no serve command (or one without --web-root)` };
  return { bin, model };
}

// Starts `muse serve` on a free loopback port (--port 0; the port is read from its start-up line
// "... on http://127.0.0.1:PORT ...") with the built page; resolves once it answers HTTP.
export async function startMuse({ bin, model, extraArgs = [], timeoutMs = 60000 } = {}) {
  const args = ['serve', '-m', model, '--host', '127.0.0.1', '--port', '0', '--web-root', join(webDir, 'dist'), ...extraArgs];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const deadline = Date.now() + timeoutMs;
  let url = null;
  while (Date.now() < deadline && proc.exitCode === null && proc.signalCode === null) {
    const m = !url && log.match(/ on (http:\/\/127\.0\.0\.1:\d+)/);
    if (m) url = m[1];
    if (url) {
      try {
        // Any HTTP answer means it is listening (the status of /health is the server tests' business).
        await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
        break;
      } catch {
        // not accepting yet
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
    const res = await exited;
    clearTimeout(t);
    return res;
  };
  let healthy = false;
  if (url) {
    try {
      await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      healthy = true;
    } catch {
      healthy = false;
    }
  }
  if (!healthy) {
    await stop();
    throw new Error(`muse serve did not come up (${args.join(' ')}): ${log.slice(-2000)}`);
  }
  return { url, log: () => log, stop };
}

// Headless Debian Chromium through playwright-core (never a downloaded browser). The flags keep it off
// the network: this machine's sandbox refuses outside connections.
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}
