// The focus viewer in a real browser: the page the extension serves (same HTML, same CSP, the built
// media/dist/viewer.js) on 127.0.0.1, a stub `acquireVsCodeApi` recording what the app posts, and
// snapshots built by the real engine (fake model runtime). Driven by playwright-core and Chromium.
// Run: `npm run build && node out/test/e2e/viewer.e2e.js`; prints "N passed, N failed".
// Screenshots go to test-results/ only (a build folder): a test run never changes tracked files.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { extname, join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { makeNonce, viewerHtml } from '../../src/webview/html';
import { foldedByFolder, layoutStrips, mappedDocuments, type SpanRect, type StripLayout } from '../../src/webview/layout';
import { spanKey, spanRef, type FocusDocument, type FocusSnapshot, type FocusSpan, type SpanLod } from '../../src/webview/protocol';
import { snapshotFromWorkingContext } from '../../src/engine/snapshot';
import { displayPath, fixtureWorkingContext, PLANTED_HTML } from '../unit/support/viewerSnapshot';
import { THEMES, type ThemeName } from './themes';

// Browser globals, used only inside page.evaluate callbacks (they run in the page). Declared here, not
// through lib "dom", so the Node project's types stay free of DOM globals.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any, window: any, sessionStorage: any, getComputedStyle: any;
type HTMLCanvasElement = any;
type HTMLElement = any;

const root = resolve(__dirname, '..', '..', '..');
const results = join(root, 'test-results');
const chromiumPath = process.env.MEGACONTEXT_CHROMIUM || '/usr/bin/chromium';
const BROWSER_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.map': 'application/json' };

/** Serves the viewer page and media/ only. */
function serve(): Promise<{ server: Server; origin: string }> {
  return new Promise((done) => {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/favicon.ico') {
        res.writeHead(204).end();
        return;
      }
      if (url.pathname === '/') {
        const origin = `http://${req.headers.host}`;
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(viewerHtml({
          cspSource: origin,
          nonce: 'e2eNonce' + Math.random().toString(36).slice(2),
          scriptUri: `${origin}/media/dist/viewer.js`,
          styleUri: `${origin}/media/viewer.css`,
          variant: url.searchParams.get('variant') === 'panel' ? 'panel' : 'sidebar',
        }));
        return;
      }
      const file = resolve(root, '.' + decodeURIComponent(url.pathname));
      if (!file.startsWith(join(root, 'media') + '/') || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(readFileSync(file));
    });
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      done({ server, origin: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}` });
    });
  });
}

/** VS Code's webview API, stubbed; UI state survives reloads like VS Code keeps it for a hidden view. */
const STUB = `
  window.__posted = [];
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
    getState: () => { const s = sessionStorage.getItem('state'); return s ? JSON.parse(s) : undefined; },
    setState: (s) => sessionStorage.setItem('state', JSON.stringify(s)),
  });`;

async function applyTheme(page: Page, theme: ThemeName): Promise<void> {
  await page.evaluate(({ vars, bodyClass }) => {
    const html = document.documentElement;
    // Through the CSSOM, as VS Code does: a style attribute would be blocked by the page's CSP.
    for (const name of [...html.style]) html.style.removeProperty(name);
    for (const [k, v] of Object.entries(vars)) html.style.setProperty(k, v);
    document.body.className = bodyClass;
    document.body.style.backgroundColor = 'var(--vscode-sideBar-background)';
  }, THEMES[theme]);
}

async function postSnapshot(page: Page, snapshot: FocusSnapshot | null, animate: boolean): Promise<void> {
  // Documents shown only by their root line are folded by folder, not drawn: the map holds the others.
  const spans = snapshot ? snapshot.documents.slice(0, mappedDocuments(snapshot)).reduce((a, d) => a + d.spans.length, 0) : 0;
  // As a JSON string: Playwright's own argument serializer takes seconds on a 30k-span object.
  await page.evaluate((json) => window.postMessage(JSON.parse(json), '*'), JSON.stringify({ type: 'snapshot/didChange', snapshot, animate }));
  await page.waitForFunction((n) => document.getElementById('map')?.dataset.spans === String(n), spans);
}

const posted = (page: Page) => page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);

/** The layout the page computed, recomputed here from the same pure function and the canvas's size. */
async function pageLayout(page: Page, snapshot: FocusSnapshot): Promise<StripLayout> {
  const { width, rowHeight } = await page.evaluate(() => {
    const c = document.getElementById('map') as HTMLCanvasElement;
    return { width: c.getBoundingClientRect().width, rowHeight: Number(c.dataset.rowHeight) };
  });
  return layoutStrips(snapshot, width, rowHeight);
}

/** Client coordinates of a rect's centre, scrolling its row into view first. */
async function clientPoint(page: Page, rc: SpanRect): Promise<{ x: number; y: number }> {
  return page.evaluate((r) => {
    const scroller = document.getElementById('scroller')!;
    if (r.y < scroller.scrollTop || r.y + r.h > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = r.y - 10;
    const box = document.getElementById('map')!.getBoundingClientRect();
    return { x: box.left + r.x + Math.min(r.w, 60) / 2, y: box.top + r.y - scroller.scrollTop + r.h / 2 };
  }, rc);
}

/** The canvas pixel at a client point and the LOD colour it should be, both as [r,g,b,a]. */
async function pixelAndColour(page: Page, at: { x: number; y: number }, lod: SpanLod): Promise<{ pixel: number[]; want: number[] }> {
  return page.evaluate(({ at, lod }) => {
    const c = document.getElementById('map') as HTMLCanvasElement;
    const box = c.getBoundingClientRect();
    const k = c.width / box.width;
    const pixel = [...c.getContext('2d')!.getImageData(Math.floor((at.x - box.left) * k), Math.floor((at.y - box.top) * k), 1, 1).data];
    const probe = document.createElement('canvas').getContext('2d')!;
    // The colour the app made of the theme's --lodN for this background (what the gauge and legend use too).
    probe.fillStyle = getComputedStyle(document.body).getPropertyValue(`--lod${lod}-shown`).trim();
    probe.fillRect(0, 0, 1, 1);
    return { pixel, want: [...probe.getImageData(0, 0, 1, 1).data] };
  }, { at, lod });
}

const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 3);

function widest(L: StripLayout, s: FocusSnapshot, lod: SpanLod, where: (d: FocusDocument, x: FocusSpan) => boolean = () => true): SpanRect {
  let best: SpanRect | undefined;
  for (const row of L.rows) for (const rc of row.rects) {
    if (rc.lod === lod && where(s.documents[rc.doc], s.documents[rc.doc].spans[rc.span]) && (!best || rc.w > best.w)) best = rc;
  }
  if (!best) throw new Error(`no LOD${lod} span in the snapshot`);
  return best;
}

/** A synthetic snapshot the size of a 1M-token workspace: thousands of documents, tens of thousands of spans. */
function bigSnapshot(base: FocusSnapshot): FocusSnapshot {
  const documents: FocusDocument[] = [];
  let tokens = 0;
  for (let d = 0; tokens < 1_000_000; d++) {
    const n = 120 + ((d * 7919) % 900);
    const spans: FocusSpan[] = [];
    for (let s = 0; s < n; s += 32) {
      const lod = (((s / 32) * 31 + d) % 7 === 0 ? 0 : (s / 32 + d) % 3 === 0 ? 2 : 1) as SpanLod;
      spans.push({ lod, start: s, end: Math.min(n, s + 32), startLine: 1 + s / 8, endLine: 1 + Math.floor((s + 31) / 8), score: 0.1, gistText: `gist ${d}:${s}`, truncated: false, pinned: false, cost: 6 });
    }
    documents.push({ id: `/w/packages/pkg${d % 40}/src/module_${d}.ts`, path: `packages/pkg${d % 40}/src/module_${d}.ts`, tokens: n, spans });
    tokens += n;
  }
  return { ...base, documents, changed: undefined };
}

/** Markup and script URLs a hostile workspace could hold in file names, code, gists and queries. */
const PAYLOADS = [
  '<script>window.__pwned=1</script>',
  '<img src=x onerror="window.__pwned=2">',
  '"><svg onload="window.__pwned=3"><x y="',
  'javascript:window.__pwned=4//',
  '<a href="javascript:window.__pwned=5">link</a>',
  "'><iframe src=\"javascript:window.__pwned=6\"></iframe>",
  '<style>*{background:url(javascript:window.__pwned=7)}</style>',
];

/** The snapshot with a payload in every text field: paths, ids, gist texts, the query, the changed-span keys. */
function hostileSnapshot(base: FocusSnapshot): FocusSnapshot {
  const s = structuredClone(base);
  s.query = PAYLOADS.join(' ');
  s.documents.forEach((d, i) => {
    const p = PAYLOADS[i % PAYLOADS.length];
    d.path = `${p}/${d.path}`;
    d.id = `${p}/${d.id}`;
    d.spans.forEach((x, j) => {
      x.gistText = `${PAYLOADS[(i + j) % PAYLOADS.length]} ${x.gistText}`;
      x.names = [`${PAYLOADS[(i + j + 1) % PAYLOADS.length]} L${x.startLine}`, ...(x.names ?? [])];
    });
  });
  s.inContext = (s.inContext ?? []).map((item, k) => ({
    ...item,
    path: s.documents[item.doc].path,
    names: [`${PAYLOADS[k % PAYLOADS.length]} L${item.startLine}`, ...item.names],
    matched: [PAYLOADS[(k + 1) % PAYLOADS.length], ...item.matched],
  }));
  s.changed = { expanded: s.documents.map((d) => spanKey(d.path, d.spans[0])), collapsed: [] };
  return s;
}

/** What in the page could run script or load something: elements beyond the viewer's own, handlers, script URLs. */
async function activeContent(page: Page): Promise<{ elements: string[]; handlers: string[]; scriptUrls: string[]; pwned: unknown }> {
  return page.evaluate(() => {
    const all = [...document.querySelectorAll('*')] as HTMLElement[];
    const own = (e: HTMLElement) => (e.tagName === 'SCRIPT' && e.hasAttribute('src') && e.hasAttribute('nonce')) || (e.tagName === 'LINK' && e.getAttribute('rel') === 'stylesheet');
    return {
      elements: all.filter((e) => /^(SCRIPT|IMG|SVG|IFRAME|OBJECT|EMBED|A|STYLE|LINK|BASE|FORM|META)$/i.test(e.tagName) && !own(e) && !(e.tagName === 'META' && e.parentElement?.tagName === 'HEAD'))
        .map((e) => e.outerHTML.slice(0, 80)),
      handlers: all.flatMap((e) => [...e.attributes].filter((a: any) => /^on/i.test(a.name)).map((a: any) => `${e.tagName} ${a.name}`)),
      scriptUrls: all.flatMap((e) => [...e.attributes].filter((a: any) => /^\s*javascript:/i.test(a.value)).map((a: any) => `${e.tagName} ${a.name}=${a.value}`)),
      pwned: (window as unknown as { __pwned?: unknown }).__pwned,
    };
  });
}

/** A screen pixel as rendered (a 1×1 screenshot, decoded here): what a user sees, after compositing. */
async function screenPixel(page: Page, x: number, y: number): Promise<[number, number, number]> {
  const png = await page.screenshot({ clip: { x: Math.floor(x), y: Math.floor(y), width: 1, height: 1 } });
  return firstPixel(png);
}

/** The first pixel of an 8-bit RGB or RGBA PNG (what Chromium writes), decoded with zlib alone. */
function firstPixel(png: Buffer): [number, number, number] {
  let at = 8;
  let colorType = -1;
  const idat: Buffer[] = [];
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      if (data[8] !== 8 || data[12] !== 0) throw new Error(`unexpected PNG: bit depth ${data[8]}, interlace ${data[12]}`);
      colorType = data[9];
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  if (colorType !== 2 && colorType !== 6) throw new Error(`unexpected PNG colour type ${colorType}`);
  const row = inflateSync(Buffer.concat(idat));
  // Row 0, filter byte first; for the first pixel of the first row only None and Sub/Up/Average/Paeth with zero neighbours apply.
  const filter = row[0];
  if (filter > 4) throw new Error(`bad PNG filter ${filter}`);
  return [row[1], row[2], row[3]];
}

/** WCAG 2 contrast ratio of two sRGB colours. */
function contrastRatio(a: readonly number[], b: readonly number[]): number {
  const lum = (c: readonly number[]) => {
    const [r, g, bl] = c.map((v) => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The snapshot with one document (one without exact text) shown only by its root line, listed last, as the engine orders it. */
function withRootOnly(base: FocusSnapshot): { snapshot: FocusSnapshot; path: string } {
  const s = structuredClone(base);
  const victim = s.documents.findIndex((d) => !d.spans.some((x) => x.lod === 0));
  if (victim < 0) throw new Error('every fixture document has exact text');
  const doc = s.documents[victim];
  const lines = doc.spans[doc.spans.length - 1].endLine;
  for (const x of doc.spans) s.byLod[x.lod] -= x.cost;
  doc.spans = [{ lod: 3, start: 0, end: doc.tokens, startLine: 1, endLine: lines, score: 0, gistText: `${doc.path} (${doc.tokens} tok): root line`, truncated: false, pinned: false, cost: 9 }];
  s.byLod[3] += 9;
  const order = s.documents.map((_, i) => i).filter((i) => i !== victim).concat([victim]);
  const where = new Map(order.map((old, i) => [old, i]));
  s.documents = order.map((i) => s.documents[i]);
  s.inContext = (s.inContext ?? []).filter((it) => it.doc !== victim).map((it) => ({ ...it, doc: where.get(it.doc)! }));
  s.changed = undefined;
  return { snapshot: s, path: doc.path };
}

/** `path La-b` of every exact run in a rendered prompt (its `## path (` header above each `[[exact La-b]]`). */
function promptRuns(prompt: string): string[] {
  const runs: string[] = [];
  let path = '';
  for (const line of prompt.split('\n')) {
    const header = /^## (.+?) \(/.exec(line);
    if (header) path = header[1];
    const exact = /^\[\[exact L(\d+)-(\d+)\]\]$/.exec(line);
    if (exact) runs.push(`${path} L${exact[1]}-${exact[2]}`);
  }
  return runs;
}

interface Check { name: string; run: () => Promise<void> }

async function main(): Promise<number> {
  if (!existsSync(join(root, 'media', 'dist', 'viewer.js'))) throw new Error('media/dist/viewer.js is missing: run npm run build first');
  if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath} (apt-get install chromium, or set MEGACONTEXT_CHROMIUM)`);
  mkdirSync(results, { recursive: true });

  const first = await fixtureWorkingContext('render gamma delta', 2400);
  const before = snapshotFromWorkingContext(first.wc, displayPath);
  const wc = await first.engine.focus({ query: 'needle_function unique_marker_zebra', budget: 2400, displayPath });
  const snapshot = snapshotFromWorkingContext(wc, displayPath, { previous: before });
  // A planted gist too (LOD1 text is normally words only): the viewer must render any gist inert.
  const lod1Doc = snapshot.documents.find((d) => d.spans.some((x) => x.lod === 1))!;
  // Planted in the document's widest block gist (blocks of whole lines vary in width), so the hover lands on it.
  const lod1Spans = lod1Doc.spans.filter((x) => x.lod === 1);
  const planted = lod1Spans.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
  planted.gistText += ' <script>window.__pwned=3</script>';
  planted.names = [...(planted.names ?? []), '<script>window.__pwned=3</script> L1'];

  const { server, origin } = await serve();
  const browser: Browser = await chromium.launch({ executablePath: chromiumPath, args: BROWSER_ARGS });
  const page = await browser.newPage({ viewport: { width: 400, height: 640 } });
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.addInitScript(STUB);
  await page.goto(origin + '/');
  await applyTheme(page, 'dark');

  let L: StripLayout;
  const checks: Check[] = [
    {
      name: 'the page loads under its CSP and tells the host it is ready',
      run: async () => {
        await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'viewer/ready'));
        const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
        assert(csp?.includes("script-src 'nonce-") && csp.includes("default-src 'none'"), `CSP: ${csp}`);
      },
    },
    {
      name: 'the empty state shows before any focus',
      run: async () => {
        await postSnapshot(page, null, false);
        assert(await page.locator('#empty').isVisible(), 'empty state visible');
      },
    },
    {
      name: 'spans of all three LODs are drawn in their theme colours',
      run: async () => {
        await postSnapshot(page, snapshot, false);
        L = await pageLayout(page, snapshot);
        for (const lod of [0, 1, 2] as SpanLod[]) {
          const { pixel, want } = await pixelAndColour(page, await clientPoint(page, widest(L, snapshot, lod)), lod);
          assert(close(pixel, want), `LOD${lod}: pixel ${pixel} vs ${want}`);
        }
      },
    },
    {
      name: 'the gauge and legend match the working context',
      run: async () => {
        const g = page.locator('#gauge');
        assert(Number(await g.getAttribute('aria-valuenow')) === wc.rendered.tokens, 'aria-valuenow = rendered tokens');
        assert(Number(await g.getAttribute('aria-valuemax')) === wc.budget, 'aria-valuemax = budget');
        const text = await page.locator('#gauge-text').textContent();
        assert(text?.includes(wc.rendered.tokens.toLocaleString('en-US')) && text.includes(wc.budget.toLocaleString('en-US')), `gauge text: ${text}`);
        const widths = await page.evaluate(() => {
          const gauge = document.getElementById('gauge')!;
          const segs = [...gauge.querySelectorAll('.seg')].reduce((a, s) => a + s.getBoundingClientRect().width, 0);
          return { segs, total: gauge.clientWidth };
        });
        const want = (widths.total * wc.rendered.tokens) / wc.budget;
        assert(Math.abs(widths.segs - want) < 2, `segments ${widths.segs.toFixed(1)} px vs ${want.toFixed(1)} px`);
        for (const lod of [0, 1, 2] as SpanLod[]) {
          const count = snapshot.documents.reduce((a, d) => a + d.spans.filter((x) => x.lod === lod).length, 0);
          const li = await page.locator(`#legend li[data-lod="${lod}"]`).textContent();
          assert(li?.includes(count === 1 ? '1 span ' : `${count} spans`) && li.includes(`${snapshot.byLod[lod].toLocaleString('en-US')} tok`), `legend LOD${lod}: ${li}`);
        }
        const q = await page.locator('#query').textContent();
        assert(q?.includes(wc.query), `query: ${q}`);
        // Plain words first; the allocator's jargon only behind the details toggle.
        const t = (await page.locator('#telemetry').textContent()) ?? '';
        assert(/^Refocused in [\d.]+ ms: /.test(t) && !/swap rate|iterations|allocate/.test(t), `telemetry: ${t}`);
        assert(await page.locator('#telemetry-details').isHidden(), 'the details are folded');
        await page.locator('#telemetry').click();
        const d = (await page.locator('#telemetry-details').textContent()) ?? '';
        assert(await page.locator('#telemetry-details').isVisible() && d.includes(`${snapshot.telemetry.actions} actions`) && d.includes('swap rate') && d.includes('allocate'), `details: ${d}`);
        await page.locator('#telemetry').click();
      },
    },
    {
      name: 'lexical-only mode shows a banner with the reason; a normal snapshot hides it',
      run: async () => {
        assert(await page.locator('#mode').isHidden(), 'no banner for a snapshot from the learned models');
        await postSnapshot(page, { ...snapshot, lexicalOnly: 'models not found: /x/models.json is missing' }, false);
        await page.locator('#mode').waitFor({ state: 'visible' });
        const text = (await page.locator('#mode').textContent()) ?? '';
        assert(text.startsWith('Lexical only') && text.includes('models not found: /x/models.json is missing'), `banner: ${text}`);
        await postSnapshot(page, snapshot, false);
        await page.locator('#mode').waitFor({ state: 'hidden' });
      },
    },
    {
      name: 'a notice from the host (no chat model: what to do) shows above everything, as literal text, and goes when the host drops it',
      run: async () => {
        const notice = `MegaContext has no chat model to answer with. ${PAYLOADS[1]} Sign in, or use the MCP server.`;
        for (const snap of [null, snapshot]) {
          await page.evaluate((json) => window.postMessage(JSON.parse(json), '*'), JSON.stringify({ type: 'snapshot/didChange', snapshot: snap, animate: false, notice }));
          await page.locator('#notice').waitFor({ state: 'visible' });
          assert((await page.locator('#notice').textContent()) === notice, 'the notice is shown verbatim');
          const box = await page.locator('#notice').boundingBox();
          assert(box && box.y < 40, `the notice is not at the top: y=${box?.y}`);
        }
        const seen = await activeContent(page);
        assert(seen.elements.length === 0 && seen.handlers.length === 0 && seen.pwned === undefined, JSON.stringify(seen));
        await postSnapshot(page, snapshot, false);
        assert(await page.locator('#notice').isHidden(), 'the notice stays after the host dropped it');
      },
    },
    {
      name: 'the query box is there before any focus and posts focus/query with the question; an empty box posts nothing',
      run: async () => {
        await postSnapshot(page, null, false);
        assert(await page.locator('#ask-input').isVisible() && await page.locator('#empty').isVisible(), 'the empty view offers the query box');
        const n = (await posted(page)).length;
        await page.locator('#ask-input').fill('   ');
        await page.locator('#ask-button').click();
        assert((await posted(page)).length === n, 'an empty question was sent');
        await page.locator('#ask-input').fill('  where is the refund window decided?  ');
        await page.locator('#ask-input').press('Enter');
        const last = (await posted(page)).at(-1);
        assert(JSON.stringify(last) === JSON.stringify({ type: 'focus/query', query: 'where is the refund window decided?' }), `posted ${JSON.stringify(last)}`);
        await postSnapshot(page, snapshot, false);
      },
    },
    {
      name: 'In context comes first and lists exactly the prompt\'s exact runs: file, lines, units and why (matched words)',
      run: async () => {
        const items = snapshot.inContext ?? [];
        const want = promptRuns(wc.rendered.prompt);
        const got = items.map((it) => `${it.path} L${it.startLine}-${it.endLine}`);
        assert(want.length > 0 && JSON.stringify([...got].sort()) === JSON.stringify([...want].sort()), `runs: ${got.join(', ')} vs the prompt's ${want.join(', ')}`);
        const rows = page.locator('#in-context-list .ic-item');
        assert(await rows.count() === items.length, `${await rows.count()} rows for ${items.length} runs`);
        const title = (await page.locator('#in-context-title').textContent()) ?? '';
        assert(title.includes(`${items.length} exact run${items.length === 1 ? '' : 's'}`), `title: ${title}`);
        // Above the map, so it is on the first screen.
        const list = await page.locator('#in-context').boundingBox();
        const map = await page.locator('#scroller').boundingBox();
        assert(list && map && list.y < map.y && list.y < 640, `In context at y=${list?.y}, the map at y=${map?.y}`);
        // The needle function's run names its unit and the query words it matches.
        const needle = items.find((it) => it.names.some((nm) => nm.startsWith('needle_function L')));
        assert(needle, `no run names needle_function: ${JSON.stringify(items.map((it) => it.names))}`);
        assert(needle.matched.includes('needle') || needle.matched.some((m) => m.startsWith('needle')), `matched: ${needle.matched.join(', ')}`);
        const text = (await rows.nth(items.indexOf(needle)).textContent()) ?? '';
        for (const part of [needle.path, `L${needle.startLine}`, 'needle_function L', 'matches ', needle.matched[0]]) assert(text.includes(part), `row lacks «${part}»: ${text}`);
        // A click opens that run's exact span.
        await rows.nth(items.indexOf(needle)).click();
        const last = (await posted(page)).at(-1) as { type: string; span: { path: string; lod: number; startLine: number; endLine: number } };
        assert(last.type === 'span/open' && last.span.path === needle.path && last.span.lod === 0 && last.span.startLine <= needle.startLine && needle.startLine <= last.span.endLine, `posted ${JSON.stringify(last)}`);
      },
    },
    {
      name: 'documents are ordered by relevance: the map starts with the most exact text, not the alphabet',
      run: async () => {
        const exact = (d: FocusDocument) => d.spans.filter((x) => x.lod === 0).reduce((a, x) => a + x.cost, 0);
        const tiers = snapshot.documents.map((d) => (exact(d) > 0 ? 0 : 1));
        assert(tiers.every((t, i) => i === 0 || tiers[i - 1] <= t), `tiers ${tiers.join(',')}`);
        for (let i = 1; i < snapshot.documents.length && tiers[i] === 0; i++) assert(exact(snapshot.documents[i - 1]) >= exact(snapshot.documents[i]), 'exact tokens descending');
        const alphabetical = [...snapshot.documents].map((d) => d.path).sort();
        assert(snapshot.documents[0].path !== alphabetical[0] || exact(snapshot.documents[0]) > 0, 'the first document is only first by name');
        await page.locator('#map').focus();
        await page.keyboard.press('Control+Home');
        const live = (await page.locator('#live').textContent()) ?? '';
        assert(live.startsWith(`${snapshot.documents[0].path} · `) && exact(snapshot.documents[0]) === Math.max(...snapshot.documents.map(exact)), `first row: ${live}`);
        await page.locator('#map').blur();
      },
    },
    {
      name: 'documents seen only by their root line are folded by folder below the map, not drawn as grey strips',
      run: async () => {
        const { snapshot: rooted, path } = withRootOnly(snapshot);
        await postSnapshot(page, rooted, false);
        const folder = path.slice(0, path.lastIndexOf('/') + 1);
        const group = page.locator(`#folded details[data-folder="${folder}"]`);
        assert(await page.locator('#folded').isVisible() && await group.count() === 1, `no folded group for ${folder}`);
        const summary = (await group.locator('summary').textContent()) ?? '';
        assert(summary.includes(folder) && summary.includes('1 file'), `summary: ${summary}`);
        assert(await group.locator('li').isHidden(), 'folded by default');
        await group.locator('summary').click();
        const li = (await group.locator('li').textContent()) ?? '';
        assert(await group.locator('li').isVisible() && li.includes(`${path} (`), `listed: ${li}`);
        assert(foldedByFolder(rooted).length === 1 && mappedDocuments(rooted) === rooted.documents.length - 1, 'one folded document');
        const legend = (await page.locator('#legend li[data-lod="3"]').textContent()) ?? '';
        assert(legend.includes('1 document ') || legend.includes('1 document·') || /\b1 document\b/.test(legend), `legend: ${legend}`);
        await postSnapshot(page, snapshot, false);
        assert(await page.locator('#folded').isHidden(), 'nothing folded when every document has detail');
      },
    },
    {
      name: 'long In-context and folded lists never squeeze the map: its first row stays on screen and under the pointer',
      run: async () => {
        const { snapshot: rooted } = withRootOnly(snapshot);
        const extra = Array.from({ length: 60 }, (_, i) => ({ ...rooted.documents[rooted.documents.length - 1], id: `/w/lib/f${i}.py`, path: `lib/f${i}.py` }));
        const crowded: FocusSnapshot = { ...rooted, documents: [...rooted.documents, ...extra], inContext: Array.from({ length: 15 }, () => rooted.inContext!).flat() };
        await postSnapshot(page, crowded, false);
        await page.locator('#folded details').first().locator('summary').click();
        const room = await page.evaluate(() => {
          const scroller = document.getElementById('scroller')!;
          const map = document.getElementById('map')!;
          const box = map.getBoundingClientRect();
          const rowHeight = Number(map.dataset.rowHeight);
          const hit = document.elementFromPoint(box.left + 20, box.top + rowHeight - 6);
          return { height: scroller.clientHeight, rowHeight, hit: hit?.id ?? hit?.tagName };
        });
        assert(room.height >= 3 * room.rowHeight, `the map has ${room.height} px for rows of ${room.rowHeight}`);
        assert(room.hit === 'map', `the first row is covered by ${room.hit}`);
        await postSnapshot(page, snapshot, false);
      },
    },
    {
      name: 'hover on a gist shows path, line range, LOD, score and the units of its lines from the outline, not gist words',
      run: async () => {
        for (const lod of [2, 1] as SpanLod[]) {
          const rc = widest(L, snapshot, lod, (_d, x) => (x.names ?? []).length > 0 && x.names!.every((nm) => !nm.includes('<')));
          const doc = snapshot.documents[rc.doc];
          const span = doc.spans[rc.span];
          const p = await clientPoint(page, rc);
          await page.mouse.move(p.x, p.y);
          await page.waitForFunction((want) => document.getElementById('tooltip')!.textContent!.includes(want), span.names![0]);
          const tip = (await page.locator('#tooltip').textContent()) ?? '';
          for (const part of [doc.path, `L${span.startLine}–${span.endLine}`, lod === 2 ? 'LOD2 group gist' : 'LOD1 block gist', `score ${span.score.toFixed(2)}`, ...span.names!]) {
            assert(tip.includes(part), `tooltip lacks «${part}»: ${tip}`);
          }
          // Each name is `unit L12` (or `in unit La-b`), a line of the document's outline.
          assert(span.names!.every((nm) => /L\d+(-\d+)?$/.test(nm) || /^and \d+ more$/.test(nm)), `names: ${span.names!.join(' | ')}`);
          if (span.gistText && !span.names!.some((nm) => nm.includes(span.gistText))) assert(!tip.includes(span.gistText), `the tooltip still shows gist words: ${tip}`);
        }
      },
    },
    {
      name: 'click posts span/open with the span and its line range',
      run: async () => {
        const rc = widest(L, snapshot, 0, (d) => d.path.endsWith('.py'));
        const doc = snapshot.documents[rc.doc];
        const p = await clientPoint(page, rc);
        await page.mouse.click(p.x, p.y);
        const last = (await posted(page)).at(-1);
        assert(JSON.stringify(last) === JSON.stringify({ type: 'span/open', span: spanRef(doc.path, doc.spans[rc.span]) }), `posted ${JSON.stringify(last)}`);
      },
    },
    {
      name: 'the context menu pins a span to LOD0 and collapses another',
      run: async () => {
        for (const [lod, item, type] of [[2, 'Pin to LOD0', 'span/pin'], [1, 'Collapse', 'span/collapse']] as const) {
          const rc = widest(L, snapshot, lod);
          const doc = snapshot.documents[rc.doc];
          const p = await clientPoint(page, rc);
          await page.mouse.click(p.x, p.y, { button: 'right' });
          await page.locator('#menu').waitFor({ state: 'visible' });
          await page.getByRole('menuitem', { name: item }).click();
          const last = (await posted(page)).at(-1);
          assert(JSON.stringify(last) === JSON.stringify({ type, span: spanRef(doc.path, doc.spans[rc.span]) }), `posted ${JSON.stringify(last)}`);
          assert(await page.locator('#menu').isHidden(), 'menu closes');
        }
      },
    },
    {
      name: 'keyboard: Tab focuses the map, arrows move between spans and documents, Enter opens, P pins',
      run: async () => {
        await page.mouse.move(0, 0);
        await page.evaluate(() => sessionStorage.removeItem('state'));
        await postSnapshot(page, snapshot, false);
        // Start keyboard navigation from the last control above the map, as a user tabbing into the view.
        await page.locator('#in-context-list button').last().focus();
        await page.keyboard.press('Tab');
        assert(await page.evaluate(() => document.activeElement?.id === 'map'), 'the map has focus');
        const live = async () => (await page.locator('#live').textContent()) ?? '';
        const d0 = snapshot.documents[0];
        await page.keyboard.press('Control+Home');
        assert((await live()).startsWith(`${d0.path} · `), `live: ${await live()}`);
        await page.keyboard.press('ArrowRight');
        const s1 = d0.spans[Math.min(1, d0.spans.length - 1)];
        assert((await live()).includes(`${d0.path} · ${s1.startLine === s1.endLine ? `line ${s1.startLine}` : `lines ${s1.startLine}–${s1.endLine}`}`), `live: ${await live()}`);
        await page.keyboard.press('ArrowDown');
        const d1 = snapshot.documents[1];
        assert((await live()).startsWith(`${d1.path} · `), `live after ArrowDown: ${await live()}`);
        assert(await page.locator('#tooltip').isVisible(), 'the selected span shows its tooltip');
        const n = (await posted(page)).length;
        await page.keyboard.press('Enter');
        await page.keyboard.press('p');
        const [open, pin] = (await posted(page)).slice(n) as { type: string; span: { path: string } }[];
        assert(open?.type === 'span/open' && open.span.path === d1.path, `Enter posted ${JSON.stringify(open)}`);
        assert(pin?.type === 'span/pin' && pin.span.path === d1.path, `P posted ${JSON.stringify(pin)}`);
        await page.keyboard.press('Shift+F10');
        await page.locator('#menu').waitFor({ state: 'visible' });
        assert(await page.evaluate(() => document.activeElement?.getAttribute('role') === 'menuitem'), 'the menu takes focus');
        await page.keyboard.press('Escape');
        assert(await page.evaluate(() => document.activeElement?.id === 'map') && await page.locator('#menu').isHidden(), 'Escape returns to the map');
      },
    },
    {
      name: 'planted <script> and <img onerror> in workspace text render as inert text',
      run: async () => {
        const rc = widest(L, snapshot, 0, (_d, x) => x.gistText.includes('<img'));
        const p = await clientPoint(page, rc);
        await page.mouse.move(p.x, p.y);
        await page.locator('#tooltip').waitFor({ state: 'visible' });
        const tip = (await page.locator('#tooltip').textContent()) ?? '';
        assert(tip.includes(PLANTED_HTML.slice(0, 40)), `tooltip shows the text: ${tip}`);
        // The span that carries the planted markup (not necessarily its document's widest).
        const rc1 = widest(L, snapshot, 1, (_d, x) => x.gistText.includes('<script>window.__pwned=3'));
        const p1 = await clientPoint(page, rc1);
        await page.mouse.move(p1.x, p1.y);
        await page.waitForFunction(() => document.getElementById('tooltip')!.textContent!.includes('<script>window.__pwned=3'));
        const elements = await page.evaluate(() => document.querySelectorAll('body img, body script:not([src]), #tooltip *:not(div):not(pre):not(ul):not(li)').length);
        const pwned = await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned);
        assert(elements === 0 && pwned === undefined, `elements ${elements}, __pwned ${pwned}`);
      },
    },
    {
      name: 'a refocus animates what expanded and collapsed and announces it',
      run: async () => {
        await page.mouse.move(0, 0);
        await postSnapshot(page, before, false);
        await postSnapshot(page, snapshot, true);
        const live = (await page.locator('#live').textContent()) ?? '';
        const c = snapshot.changed!;
        assert(c.expanded.length + c.collapsed.length > 0, 'the refocus changed something');
        assert(live.includes(`${c.expanded.length} spans expanded, ${c.collapsed.length} collapsed`), `live: ${live}`);
        await page.screenshot({ path: join(results, 'viewer-refocus-dark.png') });
      },
    },
    {
      name: 'UI state survives the page being torn down and rebuilt (a hidden view), with the snapshot re-sent',
      run: async () => {
        await page.locator('#map').focus();
        await page.keyboard.press('Control+Home');
        await page.keyboard.press('ArrowDown');
        await page.keyboard.press('ArrowDown');
        await page.keyboard.press('ArrowRight');
        const want = (await page.locator('#live').textContent()) ?? '';
        await page.reload();
        await applyTheme(page, 'dark');
        await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'viewer/ready'));
        await postSnapshot(page, snapshot, false);
        await page.locator('#map').focus();
        await page.keyboard.press('ArrowLeft');
        await page.keyboard.press('ArrowRight');
        const got = (await page.locator('#live').textContent()) ?? '';
        assert(got === want, `restored selection: ${got} vs ${want}`);
      },
    },
    {
      name: 'light and high-contrast themes recolour the map (screenshots saved)',
      run: async () => {
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        const rc = widest(L, snapshot, 2);
        const p = await clientPoint(page, rc);
        await page.mouse.move(p.x, p.y);
        await page.locator('#tooltip').waitFor({ state: 'visible' });
        await page.screenshot({ path: join(results, 'viewer-dark.png') });
        for (const theme of ['light', 'high-contrast'] as const) {
          await applyTheme(page, theme);
          await page.mouse.move(p.x + 1, p.y);
          for (const lod of [0, 1, 2] as SpanLod[]) {
            // The widest spans of this LOD (the selected one wears a focus ring, so look at a few).
            const rects = L.rows.flatMap((r) => r.rects).filter((rc) => rc.lod === lod).sort((a, b) => b.w - a.w).slice(0, 3);
            let got = { pixel: [] as number[], want: [] as number[] };
            let ok = false;
            for (let attempt = 0; attempt < 10 && !ok; attempt++) {
              for (const rc of rects) {
                const q = await clientPoint(page, rc);
                got = await pixelAndColour(page, { x: q.x, y: q.y }, lod);
                if ((ok = close(got.pixel, got.want))) break;
              }
              if (!ok) await page.waitForTimeout(100);
            }
            assert(ok, `${theme} LOD${lod}: pixel ${got.pixel} vs ${got.want}`);
          }
          await page.mouse.move(p.x, p.y);
          await page.screenshot({ path: join(results, `viewer-${theme}.png`) });
        }
        await applyTheme(page, 'dark');
      },
    },
    {
      name: 'every LOD colour has at least 3:1 contrast against the background, exact text the most, in dark, light and high-contrast themes (rendered pixels)',
      run: async () => {
        const { snapshot: rooted } = withRootOnly(snapshot);
        const R = await (async () => { await postSnapshot(page, rooted, false); return pageLayout(page, rooted); })();
        await page.mouse.move(0, 0);
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        const lines: string[] = [];
        for (const theme of ['dark', 'light', 'high-contrast'] as const) {
          await applyTheme(page, theme);
          await page.waitForTimeout(150);
          const ratios: number[] = [];
          let bg: [number, number, number] = [0, 0, 0];
          for (const lod of [0, 1, 2] as SpanLod[]) {
            const rc = widest(R, rooted, lod);
            const at = await clientPoint(page, rc);
            const bgAt = await page.evaluate((y) => ({ x: document.getElementById('map')!.getBoundingClientRect().left + 3, y }), at.y);
            const fg = await screenPixel(page, at.x, at.y);
            bg = await screenPixel(page, bgAt.x, bgAt.y);
            ratios.push(contrastRatio(fg, bg));
          }
          // Root lines are not drawn on the map any more; their colour is the legend's swatch (and the gauge's).
          const sw = await page.locator('#legend li[data-lod="3"] .swatch').boundingBox();
          assert(sw, 'the legend shows the root-line swatch');
          ratios.push(contrastRatio(await screenPixel(page, sw.x + sw.width / 2, sw.y + sw.height / 2), bg));
          lines.push(`${theme}: ${ratios.map((r, l) => `LOD${l} ${r.toFixed(2)}:1`).join(', ')}`);
          ratios.forEach((r, l) => assert(r >= 3, `${theme}: LOD${l} has ${r.toFixed(2)}:1 against the background`));
          assert(ratios.slice(1).every((r) => ratios[0] > r), `${theme}: exact text is not the most prominent (${ratios.map((r) => r.toFixed(2)).join(', ')})`);
          await page.screenshot({ path: join(results, `viewer-contrast-${theme}.png`) });
        }
        console.log(`    ${lines.join('; ')}`);
        await applyTheme(page, 'dark');
        await postSnapshot(page, snapshot, false);
      },
    },
    {
      name: 'a 1M-token workspace (thousands of documents, 30k+ spans) renders well under a second and scrolls',
      run: async () => {
        const big = bigSnapshot(snapshot);
        const spans = big.documents.reduce((a, d) => a + d.spans.length, 0);
        const tokens = big.documents.reduce((a, d) => a + d.tokens, 0);
        const started = Date.now();
        await postSnapshot(page, big, false);
        const wall = Date.now() - started;
        const renderMs = Number(await page.locator('#map').getAttribute('data-render-ms'));
        const scrollMs = await page.evaluate(() => {
          const s = document.getElementById('scroller')!;
          const t0 = performance.now();
          for (let i = 1; i <= 50; i++) {
            s.scrollTop = (i * s.scrollHeight) / 60;
            s.dispatchEvent(new Event('scroll'));
          }
          return (performance.now() - t0) / 50;
        });
        console.log(`    ${big.documents.length} documents, ${tokens} tokens, ${spans} spans: render ${renderMs} ms in the page (${wall} ms round trip incl. message), ${scrollMs.toFixed(2)} ms per scrolled frame`);
        assert(spans >= 30000 && tokens >= 1_000_000, `${spans} spans, ${tokens} tokens`);
        assert(renderMs < 1000, `render took ${renderMs} ms`);
        assert(scrollMs < 50, `scroll frame took ${scrollMs} ms`);
      },
    },
    {
      name: 'hostile paths, gists and query (<script>, <img onerror>, "><svg onload>, javascript: URLs) render as literal, inert text',
      run: async () => {
        await page.mouse.move(0, 0);
        const before = await activeContent(page);
        assert(before.elements.length === 0 && before.handlers.length === 0 && before.scriptUrls.length === 0, `clean before: ${JSON.stringify(before)}`);
        const hostile = hostileSnapshot(snapshot);
        const url = page.url();
        await postSnapshot(page, hostile, true);
        const H = await pageLayout(page, hostile);
        // Hover a span of each of the first documents: the tooltip shows the path and gist with the markup as text.
        for (let d = 0; d < Math.min(PAYLOADS.length, hostile.documents.length); d++) {
          const rc = H.rows.flatMap((r) => r.rects).find((x) => x.doc === d);
          if (!rc) continue;
          const doc = hostile.documents[d];
          const p = await clientPoint(page, rc);
          await page.mouse.move(p.x, p.y);
          await page.waitForFunction((want) => document.getElementById('tooltip')!.textContent!.includes(want), doc.path);
          const tip = (await page.locator('#tooltip').textContent()) ?? '';
          const span = doc.spans[rc.span];
          const shown = span.lod === 0 ? span.gistText : span.names![0];
          assert(tip.includes(doc.path) && tip.includes(shown.slice(0, 30)), `tooltip shows path and text literally: ${tip.slice(0, 200)}`);
        }
        const query = (await page.locator('#query').textContent()) ?? '';
        assert(query.includes('<script>window.__pwned=1</script>') && query.includes('"><svg onload='), `query shown literally: ${query}`);
        const listed = (await page.locator('#in-context-list').textContent()) ?? '';
        assert(hostile.inContext!.length > 0 && listed.includes(hostile.inContext![0].names[0]) && listed.includes(hostile.inContext![0].path), `In-context list shows names and paths literally: ${listed.slice(0, 200)}`);
        // The keyboard path: the live region and the context menu's label carry the path.
        await page.locator('#map').focus();
        await page.keyboard.press('Control+Home');
        const live = (await page.locator('#live').textContent()) ?? '';
        assert(live.startsWith(hostile.documents[0].path), `live region: ${live}`);
        await page.keyboard.press('Shift+F10');
        await page.locator('#menu').waitFor({ state: 'visible' });
        const label = (await page.locator('#menu').getAttribute('aria-label')) ?? '';
        assert(label.includes(hostile.documents[0].path), `menu label: ${label}`);
        await page.keyboard.press('Escape');
        // Opening a span whose path is a javascript: URL only asks the host (which resolves it against its own snapshot).
        const n = (await posted(page)).length;
        await page.keyboard.press('ArrowDown');
        await page.keyboard.press('ArrowDown');
        await page.keyboard.press('ArrowDown');
        await page.keyboard.press('Enter');
        const sent = (await posted(page)).slice(n) as { type: string; span: { path: string } }[];
        assert(sent.length === 1 && sent[0].type === 'span/open' && sent[0].span.path === hostile.documents[3].path, `posted ${JSON.stringify(sent)}`);
        await page.waitForTimeout(200); // let any stray handler, navigation or image error fire before looking
        const after = await activeContent(page);
        assert(after.pwned === undefined, `window.__pwned = ${String(after.pwned)}`);
        assert(after.elements.length === 0, `elements appeared: ${after.elements.join(' | ')}`);
        assert(after.handlers.length === 0 && after.scriptUrls.length === 0, `handlers ${after.handlers.join(', ')}; script URLs ${after.scriptUrls.join(', ')}`);
        assert(page.url() === url, `the page navigated to ${page.url()}`);
        const scripts = await page.evaluate(() => document.scripts.length);
        assert(scripts === 1, `${scripts} script elements (the viewer's own is the only one)`);
      },
    },
    {
      name: 'a malformed snapshot from outside is ignored: the map keeps what it drew',
      run: async () => {
        const drawn = await page.locator('#map').getAttribute('data-spans');
        const bad = { ...hostileSnapshot(snapshot), documents: [{ id: 1, path: '<img src=x onerror="window.__pwned=8">', tokens: -1, spans: 'x' }] };
        await page.evaluate((json) => window.postMessage(JSON.parse(json), '*'), JSON.stringify({ type: 'snapshot/didChange', snapshot: bad, animate: false }));
        await page.evaluate((json) => window.postMessage(JSON.parse(json), '*'), JSON.stringify({ type: 'command/run', command: 'workbench.action.terminal.new' }));
        await page.waitForTimeout(100);
        assert((await page.locator('#map').getAttribute('data-spans')) === drawn, 'the map changed on a malformed message');
        const after = await activeContent(page);
        assert(after.pwned === undefined && after.elements.length === 0, JSON.stringify(after));
      },
    },
    {
      name: 'the CSP is enforced: markup injected into the page cannot run inline handlers or inline scripts, and the detector sees it (separate page)',
      run: async () => {
        const probe = await browser.newPage();
        try {
          await probe.addInitScript(STUB);
          await probe.addInitScript(() => {
            (window as any).__violations = [];
            document.addEventListener('securitypolicyviolation', (e: any) => (window as any).__violations.push(e.violatedDirective));
          });
          await probe.goto(origin + '/');
          await probe.waitForFunction(() => (window as any).__posted.some((m: { type: string }) => m.type === 'viewer/ready'));
          // Simulate a rendering bug that let markup through: the CSP must still stop it.
          await probe.evaluate(() => {
            document.body.insertAdjacentHTML('beforeend', '<img id="probe-img" src="x" onerror="window.__pwned=9">');
            const s = document.createElement('script');
            s.textContent = 'window.__pwned = 10';
            document.body.appendChild(s);
          });
          await probe.waitForFunction(() => (window as any).__violations.length >= 2);
          const r = await probe.evaluate(() => ({ pwned: (window as any).__pwned, violations: (window as any).__violations as string[] }));
          assert(r.pwned === undefined, `__pwned = ${String(r.pwned)}`);
          assert(r.violations.every((v) => v.startsWith('script-src')), `violations: ${r.violations.join(', ')}`);
          // Control for the hostile-text check above: its detector sees injected markup (with the CSP holding,
          // __pwned alone could never fail; the element, handler and script-URL counts are what would).
          const seen = await activeContent(probe);
          assert(seen.elements.some((e) => e.startsWith('<img')) && seen.elements.some((e) => e.startsWith('<script>')) && seen.handlers.includes('IMG onerror'), `detector: ${JSON.stringify(seen)}`);
        } finally {
          await probe.close();
        }
      },
    },
    {
      name: 'the HTML shell: CSP with a per-render nonce, no inline handlers, no unsafe-inline, attributes escaped',
      run: async () => {
        const nonce = makeNonce((n) => randomBytes(n));
        assert(/^[A-Za-z0-9]{32}$/.test(nonce) && nonce !== makeNonce((n) => randomBytes(n)), `nonce ${nonce}`);
        const html = viewerHtml({ cspSource: 'https://file+.vscode-resource.vscode-cdn.net', nonce, scriptUri: 'https://r/viewer.js?"><script>alert(1)</script>', styleUri: 'https://r/v.css" onload="alert(2)', variant: 'sidebar' });
        const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1].replace(/&#39;|&apos;/g, "'") ?? '';
        const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
        assert(directives.get('default-src')?.join(' ') === "'none'", `default-src: ${csp}`);
        assert(directives.get('script-src')?.join(' ') === `'nonce-${nonce}'`, `script-src: ${csp}`);
        for (const d of ['script-src', 'style-src', 'default-src']) {
          assert(!/unsafe-inline|unsafe-eval|unsafe-hashes|data:|\bblob:/.test((directives.get(d) ?? []).join(' ')), `${d} allows unsafe sources: ${csp}`);
        }
        assert(!(directives.get('script-src') ?? []).some((v) => v.includes('*') || /^https?:$/.test(v)), `script-src allows wildcards: ${csp}`);
        const scripts = html.match(/<script\b[^>]*>/g) ?? [];
        assert(scripts.length === 1 && scripts.every((t) => t.includes(`nonce="${nonce}"`) && / src="/.test(t)), `script tags: ${scripts.join(' ')}`);
        assert(!/<script>alert|" onload=/.test(html), 'hostile URIs were escaped');
        /** Attribute names of every tag (quoted values skipped, so escaped text inside a value is not a name). */
        const attributeNames = (markup: string): string[] =>
          (markup.match(/<[a-zA-Z](?:[^>"']|"[^"]*"|'[^']*')*>/g) ?? []).flatMap((tag) => [...tag.slice(1).matchAll(/\s([^\s=>"']+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?/g)].map((m) => m[1]));
        const names = attributeNames(html);
        assert(names.includes('nonce') && names.includes('content'), `attribute parse: ${names.join(' ')}`);
        const handlers = names.filter((n) => /^on/i.test(n));
        assert(handlers.length === 0, `inline handlers: ${handlers.join(', ')}`);
        // Control: the same check finds a handler where there is one, even after a quoted value.
        assert(attributeNames('<b title="a > b" onclick="x">').filter((n) => /^on/i.test(n)).length === 1, 'the handler check works');
      },
    },
    {
      name: 'no console errors or CSP violations',
      run: async () => {
        assert(problems.length === 0, problems.join('\n'));
      },
    },
  ];

  let passed = 0;
  let failed = 0;
  for (const c of checks) {
    const t0 = Date.now();
    try {
      await c.run();
      passed++;
      console.log(`  ✔ ${c.name} (${Date.now() - t0} ms)`);
    } catch (err) {
      failed++;
      console.log(`  ✖ ${c.name} (${Date.now() - t0} ms)\n      ${err instanceof Error ? err.message : String(err)}`);
      await page.screenshot({ path: join(results, `failure-${passed + failed}.png`) }).catch(() => undefined);
    }
  }
  await browser.close();
  server.close();
  console.log(`screenshots: ${results}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

function assert(ok: unknown, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.stack : err);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
