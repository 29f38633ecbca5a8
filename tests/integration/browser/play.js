#!/usr/bin/env node
// Opens rill's player page in headless Debian Chromium (driven by
// playwright-core, never a downloaded browser), lets it play a live stream,
// measures the <video>, saves a screenshot and prints one JSON line:
//
//   node play.js --page URL --out PNG [--seconds 6] [--start-timeout 20] [--timeout 60]
//                [--chromium /usr/bin/chromium] [--modules DIR]
//
//   {"ok": true, "start": {...stats}, "end": {...stats}, "advance": 5.9,
//    "waitedToStart": 1.2, "console": [...], "screenshot": "PNG"}
//
// stats are window.rillPlayer.stats() (currentTime, totalVideoFrames, ...).
// ok is false (with "error") when the page never started playing or anything
// failed; the python test makes the assertions. Exit code 0 when the JSON was
// printed. The browser is closed and its temporary profile removed on every
// path (also on SIGTERM/SIGINT and the overall --timeout).

'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

function parseArgs(argv) {
  const a = { seconds: 6, startTimeout: 20, timeout: 60, chromium: '/usr/bin/chromium', modules: null };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    switch (k) {
      case '--page': a.page = v; i++; break;
      case '--out': a.out = v; i++; break;
      case '--seconds': a.seconds = Number(v); i++; break;
      case '--start-timeout': a.startTimeout = Number(v); i++; break;
      case '--timeout': a.timeout = Number(v); i++; break;
      case '--chromium': a.chromium = v; i++; break;
      case '--modules': a.modules = v; i++; break;
      default: throw new Error('unknown argument ' + k);
    }
  }
  if (!a.page || !a.out) throw new Error('usage: play.js --page URL --out PNG [--seconds N]');
  return a;
}

const args = parseArgs(process.argv);
const modules = args.modules || path.resolve(__dirname, '..', '..', '..', 'objs', 'npm', 'node_modules');
const { chromium } = require(path.join(modules, 'playwright-core'));

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--autoplay-policy=no-user-gesture-required',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let context = null;
let profile = null;
let finished = false;
const consoleLines = [];

// Our own child processes as [pid, pgid] (Chromium, which playwright starts
// detached: in a process group of its own).
function children() {
  const out = [];
  let names = [];
  try { names = fs.readdirSync('/proc'); } catch (e) { return out; }
  for (const n of names) {
    if (!/^[0-9]+$/.test(n)) continue;
    try {
      const st = fs.readFileSync('/proc/' + n + '/stat', 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === process.pid) out.push([Number(n), Number(f[2])]);
    } catch (e) { /* exited meanwhile */ }
  }
  return out;
}

async function closeAll() {
  const c = context;
  context = null;
  if (c) {
    try {
      await Promise.race([c.close(), sleep(5000)]);
    } catch (e) { /* the browser is gone already */ }
  }
  // If close() hung (or launch did), SIGKILL what is left of the browser: our
  // own child processes by pid, with their process group when they lead one
  // (a persistent context does not expose its browser process).
  for (const [pid, pgid] of children()) {
    try { process.kill(pgid === pid ? -pid : pid, 'SIGKILL'); } catch (e) { /* gone */ }
  }
  if (profile) {
    try { fs.rmSync(profile, { recursive: true, force: true }); } catch (e) { /* best effort */ }
    profile = null;
  }
}

function emit(obj) {
  if (finished) return;
  finished = true;
  obj.console = consoleLines.slice(-40);
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function bail(error, code) {
  emit({ ok: false, error: String(error) });
  await closeAll();
  process.exit(code);
}

process.on('SIGTERM', () => bail('killed by SIGTERM', 3));
process.on('SIGINT', () => bail('killed by SIGINT', 3));
const overall = setTimeout(() => bail('overall timeout of ' + args.timeout + ' s', 4), args.timeout * 1000);

async function main() {
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rill-chromium-'));
  const t0 = Date.now();
  context = await chromium.launchPersistentContext(profile, {
    executablePath: args.chromium,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 960, height: 760 },
    timeout: 30000,
    // Chromium's own files (crash reports, caches) go to the temp profile too.
    env: Object.assign({}, process.env, {
      HOME: profile,
      XDG_CONFIG_HOME: path.join(profile, '.config'),
      XDG_CACHE_HOME: path.join(profile, '.cache'),
    }),
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => consoleLines.push(m.type() + ': ' + m.text()));
  page.on('pageerror', (e) => consoleLines.push('pageerror: ' + e.message));
  await page.goto(args.page, { waitUntil: 'load', timeout: 15000 });
  await page.waitForFunction(() => !!window.rillPlayer, null, { timeout: 10000 });

  // Wait until the video is actually playing (currentTime moving).
  const tStart = Date.now();
  let start = null;
  while (Date.now() - tStart < args.startTimeout * 1000) {
    const s = await page.evaluate(() => window.rillPlayer.stats());
    if (s.currentTime > 0 && s.state === 'playing') { start = s; break; }
    if (s.state === 'error') break;
    await sleep(200);
  }
  const waitedToStart = (Date.now() - tStart) / 1000;
  if (!start) {
    const s = await page.evaluate(() => window.rillPlayer.stats());
    await page.screenshot({ path: args.out }).catch(() => {});
    emit({ ok: false, error: 'the player did not start playing within ' + args.startTimeout + ' s',
           end: s, waitedToStart, screenshot: args.out });
    return;
  }
  await sleep(args.seconds * 1000);
  const end = await page.evaluate(() => window.rillPlayer.stats());
  await page.screenshot({ path: args.out });
  emit({
    ok: true,
    start,
    end,
    advance: end.currentTime - start.currentTime,
    seconds: args.seconds,
    waitedToStart,
    launchToEnd: (Date.now() - t0) / 1000,
    screenshot: args.out,
  });
}

main()
  .catch((e) => emit({ ok: false, error: (e && e.stack) || String(e) }))
  .finally(async () => {
    clearTimeout(overall);
    await closeAll();
    process.exit(0);
  });
