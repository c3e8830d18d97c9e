// The focus viewer app (runs inside the webview). It draws the snapshot the host sends, and sends back
// only typed span actions; everything it shows from the workspace goes through textContent.
import { foldedByFolder, layoutStrips, hitTest, moveSelection, promptTokens, type Move, type StripLayout } from '../../src/webview/layout';
import {
  MAX_QUERY_CHARS, parseHostMessage, spanKey, spanRef,
  type FocusSnapshot, type InContextItem, type SpanAction, type SpanLod, type ViewerToHost,
} from '../../src/webview/protocol';
import { count, gaugeText, LOD_NAMES, LOD_SHORT, lodCounts, n, spanSummary, telemetrySummary, telemetryText } from './describe';
import { byId, el } from './dom';
import { paint, readPalette, type Palette, type PaintState } from './paint';

interface VsCodeApi {
  postMessage(message: ViewerToHost): void;
  getState(): unknown;
  setState(state: UiState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** Only UI state is persisted; the snapshot always comes from the host. */
interface UiState {
  selected?: string;
  scrollTop?: number;
}

type At = { doc: number; span: number };

const ANIMATION_MS = 1600;
const vscode = acquireVsCodeApi();
const ui: UiState = readUiState(vscode.getState());

const canvas = byId<HTMLCanvasElement>('map');
const scroller = byId<HTMLDivElement>('scroller');
const spacer = byId<HTMLDivElement>('spacer');
const tooltip = byId<HTMLDivElement>('tooltip');
const menu = byId<HTMLDivElement>('menu');
const live = byId<HTMLDivElement>('live');
const askInput = byId<HTMLInputElement>('ask-input');
const ctx = canvas.getContext('2d')!;
const rowHeight = document.body.dataset.variant === 'panel' ? 38 : 30;

let snapshot: FocusSnapshot | null = null;
let layout: StripLayout | undefined;
let palette: Palette = readPalette();
let selected: At | undefined;
let hovered: At | undefined;
let changes: PaintState['changes'] = [];
let animationStart = 0;
let frame = 0;
let viewHeight = 0;

function readUiState(s: unknown): UiState {
  if (typeof s !== 'object' || s === null) return {};
  const o = s as Record<string, unknown>;
  return {
    selected: typeof o.selected === 'string' ? o.selected : undefined,
    scrollTop: typeof o.scrollTop === 'number' && Number.isFinite(o.scrollTop) ? o.scrollTop : undefined,
  };
}

function saveUiState(): void {
  const s = snapshot && selected ? snapshot.documents[selected.doc] : undefined;
  vscode.setState({ selected: s && selected ? spanKey(s.path, s.spans[selected.span]) : undefined, scrollTop: scroller.scrollTop });
}

// ---- snapshot → DOM summary ------------------------------------------------------------------

function showSnapshot(next: FocusSnapshot | null, animate: boolean, started = performance.now()): void {
  const previousKey = currentKey();
  snapshot = next;
  byId('empty').hidden = next !== null;
  byId('summary').hidden = next === null;
  scroller.hidden = next === null;
  if (!next) {
    byId('in-context').hidden = true;
    byId('folded').hidden = true;
  }
  hideTooltip();
  hideMenu();
  if (!next) {
    layout = undefined;
    canvas.dataset.spans = '0';
    return;
  }
  renderSummary(next);
  relayout();
  selected = findKey(previousKey ?? ui.selected);
  if (ui.scrollTop !== undefined) {
    scroller.scrollTop = ui.scrollTop;
    ui.scrollTop = undefined;
  }
  changes = [];
  if (animate && next.changed && layout) {
    const where = keyIndex(next);
    for (const [keys, kind] of [[next.changed.expanded, 'expanded'], [next.changed.collapsed, 'collapsed']] as const) {
      for (const k of keys) {
        const at = where.get(k);
        if (at) changes.push({ rect: layout.rows[at.doc].rects[at.span], kind });
      }
    }
    announce(`Refocused for “${next.query}”: ${n(next.changed.expanded.length)} spans expanded, ${n(next.changed.collapsed.length)} collapsed. ${gaugeText(next)}.`);
  }
  animationStart = performance.now();
  draw();
  if (changes.length > 0) animate_();
  canvas.dataset.spans = String(layout?.spanCount ?? 0);
  canvas.dataset.rowHeight = String(rowHeight);
  canvas.dataset.renderMs = (performance.now() - started).toFixed(1);
}

function renderSummary(s: FocusSnapshot): void {
  const mode = byId('mode');
  mode.hidden = s.lexicalOnly === undefined;
  mode.textContent = s.lexicalOnly === undefined ? '' : `Lexical only: the models did not load (${s.lexicalOnly}). Focus follows word matches alone.`;
  byId('query').textContent = s.query ? `Query: “${s.query}”` : 'No query: cold-start focus';
  if (document.activeElement !== askInput) askInput.value = s.query;
  const gauge = byId('gauge');
  const pct = (x: number) => `${Math.max(0, Math.min(100, (100 * x) / Math.max(1, s.budget)))}%`;
  const segments: Node[] = ([0, 1, 2, 3] as SpanLod[])
    .filter((l) => s.byLod[l] > 0)
    .map((l) => {
      const seg = el('span', { className: `seg lod${l}`, attrs: { title: `${LOD_SHORT[l]}: ${n(s.byLod[l])} tokens` } });
      seg.style.width = pct(s.byLod[l]);
      return seg;
    });
  if (s.overheadTokens > 0) {
    const seg = el('span', { className: 'seg overhead', attrs: { title: `headers and markers: ${n(s.overheadTokens)} tokens` } });
    seg.style.width = pct(s.overheadTokens);
    segments.push(seg);
  }
  gauge.replaceChildren(...segments);
  gauge.setAttribute('aria-valuemax', String(s.budget));
  gauge.setAttribute('aria-valuenow', String(s.usedTokens));
  gauge.setAttribute('aria-valuetext', gaugeText(s));
  gauge.dataset.used = String(s.usedTokens);
  gauge.dataset.budget = String(s.budget);
  byId('gauge-text').textContent = gaugeText(s);
  const counts = lodCounts(s);
  const items = ([0, 1, 2, 3] as SpanLod[])
    .filter((l) => l < 3 || counts[3] > 0)
    .map((l) =>
      el('li', { attrs: { 'data-lod': String(l) } }, [
        el('span', { className: `swatch lod${l}`, attrs: { 'aria-hidden': 'true' } }),
        el('span', { text: `${LOD_SHORT[l]} · ${count(counts[l], l === 3 ? 'document' : 'span')} · ${n(s.byLod[l])} tok` }),
      ]),
    );
  if (s.overheadTokens > 0) {
    items.push(el('li', {}, [el('span', { className: 'swatch overhead', attrs: { 'aria-hidden': 'true' } }), el('span', { text: `headers · ${n(s.overheadTokens)} tok` })]));
  }
  byId('legend').replaceChildren(...items);
  byId('telemetry').textContent = telemetrySummary(s.telemetry);
  byId('telemetry-details').textContent = telemetryText(s.telemetry);
  renderInContext(s);
  renderFolded(s);
}

/** Why a run is in context, in words: the query's words it contains, a pin, or the scorer's score. */
function whyText(item: InContextItem): string {
  const why: string[] = [];
  if (item.pinned) why.push('pinned');
  if (item.matched.length > 0) why.push(`matches ${item.matched.join(', ')}`);
  if (why.length === 0) why.push(`chosen by score ${item.score.toFixed(2)}`);
  return why.join(' · ');
}

/** The exact runs of the prompt, first: what the model reads verbatim, where, and why. */
function renderInContext(s: FocusSnapshot): void {
  const items = s.inContext ?? [];
  byId('in-context').hidden = items.length === 0;
  byId('in-context-title').textContent = `In context · ${count(items.length, 'exact run')} · ${n(s.byLod[0])} tok`;
  byId('in-context-list').replaceChildren(...items.map((item) => {
    const lines = item.startLine === item.endLine ? `L${item.startLine}` : `L${item.startLine}–${item.endLine}`;
    const button = el('button', { className: 'ic-item', attrs: { type: 'button', 'data-doc': String(item.doc), 'data-start-line': String(item.startLine) } }, [
      el('span', { className: 'ic-head' }, [
        el('span', { className: 'ic-file', text: item.path }),
        el('span', { className: 'ic-lines', text: ` ${lines}` }),
        el('span', { className: 'ic-tok', text: ` · ${n(item.tokens)} tok` }),
      ]),
      ...(item.names.length > 0 ? [el('span', { className: 'ic-names', text: item.names.join(' · ') })] : []),
      el('span', { className: 'ic-why', text: whyText(item) }),
    ]);
    button.addEventListener('click', () => openRun(item));
    return el('li', {}, [button]);
  }));
}

/** Opens the exact span of a run (the host resolves it against its own snapshot). */
function openRun(item: InContextItem): void {
  const doc = snapshot?.documents[item.doc];
  const span = doc?.spans.find((x) => x.lod === 0 && x.startLine <= item.startLine && item.startLine <= x.endLine);
  if (doc && span) vscode.postMessage({ type: 'span/open', span: spanRef(doc.path, span) });
}

/** Documents the model sees only by their root line, folded by folder. */
function renderFolded(s: FocusSnapshot): void {
  const groups = foldedByFolder(s);
  const box = byId('folded');
  box.hidden = groups.length === 0;
  const total = groups.reduce((a, g) => a + g.docs.length, 0);
  box.replaceChildren(
    el('h2', { className: 'section-title', text: `By name only · ${count(total, 'document')}` }),
    ...groups.map((g) => el('details', { attrs: { 'data-folder': g.folder } }, [
      el('summary', {}, [
        el('span', { text: g.folder || '(top level)' }),
        el('span', { className: 'fold-tok', text: ` · ${count(g.docs.length, 'file')} · ${n(g.tokens)} tok` }),
      ]),
      el('ul', {}, g.docs.map((d) => {
        const doc = s.documents[d];
        const line = doc.spans[0]?.gistText ?? doc.path;
        return el('li', { text: `${line} · ${n(promptTokens(doc))} tok`, attrs: { title: doc.path } });
      })),
    ])),
  );
}

// ---- geometry and drawing --------------------------------------------------------------------

function relayout(): void {
  if (!snapshot) return;
  const width = Math.max(80, scroller.clientWidth);
  viewHeight = Math.max(rowHeight, scroller.clientHeight);
  layout = layoutStrips(snapshot, width, rowHeight);
  const dpr = window.devicePixelRatio || 1;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${viewHeight}px`;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(viewHeight * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  spacer.style.height = `${Math.max(0, layout.height - viewHeight)}px`;
  if (changes.length > 0) changes = changes.map((c) => ({ ...c, rect: layout!.rows[c.rect.doc].rects[c.rect.span] }));
}

function draw(): void {
  if (!snapshot || !layout) return;
  const reduced = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  const t = (performance.now() - animationStart) / ANIMATION_MS;
  paint(ctx, {
    snapshot, layout, palette,
    scrollTop: scroller.scrollTop, viewHeight,
    selected, hovered,
    focused: document.activeElement === canvas,
    changes,
    // Reduced motion: the rings stay put, then vanish, instead of fading and shrinking.
    progress: changes.length === 0 ? 1 : reduced ? (t < 1 ? 0 : 1) : Math.min(1, t),
  });
}

function animate_(): void {
  cancelAnimationFrame(frame);
  const step = () => {
    draw();
    if (performance.now() - animationStart < ANIMATION_MS) frame = requestAnimationFrame(step);
    else changes = [];
  };
  frame = requestAnimationFrame(step);
}

// ---- selection, tooltip, actions -------------------------------------------------------------

function currentKey(): string | undefined {
  if (!snapshot || !selected) return undefined;
  const d = snapshot.documents[selected.doc];
  const s = d?.spans[selected.span];
  return d && s ? spanKey(d.path, s) : undefined;
}

/** Spans drawn on the map, by key (documents folded by folder are not drawn). */
function keyIndex(s: FocusSnapshot): Map<string, At> {
  const m = new Map<string, At>();
  const drawn = layout?.rows.length ?? 0;
  s.documents.slice(0, drawn).forEach((d, i) => d.spans.forEach((sp, j) => m.set(spanKey(d.path, sp), { doc: i, span: j })));
  return m;
}

/** The span now covering where a remembered one started (it may have been expanded or collapsed). */
function findKey(key: string | undefined): At | undefined {
  if (!snapshot || !key) return undefined;
  const m = /^(\d):(\d+):(.*)$/s.exec(key);
  if (!m) return undefined;
  const start = Number(m[2]);
  const doc = snapshot.documents.findIndex((d) => d.path === m[3]);
  if (doc < 0 || doc >= (layout?.rows.length ?? 0)) return undefined;
  const span = snapshot.documents[doc].spans.findIndex((s) => s.start <= start && start < s.end);
  return span < 0 ? undefined : { doc, span };
}

function spanAt(at: At | undefined) {
  if (!snapshot || !at) return undefined;
  const doc = snapshot.documents[at.doc];
  const span = doc?.spans[at.span];
  return doc && span ? { doc, span } : undefined;
}

function post(type: SpanAction, at: At | undefined): void {
  const found = spanAt(at);
  if (found) vscode.postMessage({ type, span: spanRef(found.doc.path, found.span) });
}

function showTooltip(at: At, clientX: number, clientY: number): void {
  const found = spanAt(at);
  if (!found) return hideTooltip();
  const { doc, span } = found;
  const names = span.names ?? [];
  // Exact text shows what the model reads; a gist shows the units its lines hold (from the outline), not gist words.
  const body = span.lod === 0
    ? el('pre', { className: 'tt-text lod0', text: span.gistText + (span.truncated ? ' …' : '') || '(empty)' })
    : names.length > 0
      ? el('ul', { className: `tt-text tt-names lod${span.lod}` }, names.map((x) => el('li', { text: x })))
      : el('pre', { className: `tt-text lod${span.lod}`, text: span.lod === 3 ? span.gistText : 'no function, class or section starts in these lines' });
  tooltip.replaceChildren(
    el('div', { className: 'tt-path', text: doc.path }),
    el('div', { className: 'tt-meta', text: [span.startLine === span.endLine ? `L${span.startLine}` : `L${span.startLine}–${span.endLine}`, LOD_NAMES[span.lod], `${n(span.cost)} tok in the prompt`, `score ${span.score.toFixed(2)}`, ...(span.pinned ? ['pinned'] : [])].join(' · ') }),
    body,
  );
  tooltip.hidden = false;
  const pad = 8;
  const w = tooltip.offsetWidth;
  const h = tooltip.offsetHeight;
  const x = Math.min(window.innerWidth - w - pad, Math.max(pad, clientX + 12));
  const y = clientY + 16 + h < window.innerHeight ? clientY + 16 : Math.max(pad, clientY - h - 8);
  tooltip.style.left = `${x}px`;
  tooltip.style.top = `${y}px`;
}

function hideTooltip(): void {
  tooltip.hidden = true;
}

/** Client coordinates of a span's rectangle (for keyboard-driven tooltips and menus). */
function spanClientRect(at: At): { x: number; y: number; bottom: number } | undefined {
  const rc = layout?.rows[at.doc]?.rects[at.span];
  if (!rc) return undefined;
  const box = canvas.getBoundingClientRect();
  const y = box.top + rc.y - scroller.scrollTop;
  return { x: box.left + rc.x + Math.min(rc.w, 40) / 2, y, bottom: y + rc.h };
}

function select(at: At | undefined, announceIt: boolean): void {
  selected = at;
  const found = spanAt(at);
  if (!found || !at || !layout) return;
  const rc = layout.rows[at.doc].rects[at.span];
  const rowTop = layout.rows[at.doc].y;
  if (rowTop < scroller.scrollTop) scroller.scrollTop = rowTop;
  else if (rc.y + rc.h > scroller.scrollTop + viewHeight) scroller.scrollTop = rc.y + rc.h - viewHeight + 4;
  draw();
  const r = spanClientRect(at);
  if (r) showTooltip(at, r.x, r.bottom - 8);
  if (announceIt) announce(spanSummary(found.doc.path, found.span));
  saveUiState();
}

function announce(text: string): void {
  live.textContent = text;
}

function openMenu(at: At, clientX: number, clientY: number): void {
  const found = spanAt(at);
  if (!found) return;
  selected = at;
  draw();
  hideTooltip();
  const item = (label: string, action: SpanAction, enabled: boolean) => {
    const b = el('button', { className: 'menu-item', text: label, attrs: { role: 'menuitem', type: 'button', 'data-action': action } });
    b.disabled = !enabled;
    b.addEventListener('click', () => {
      hideMenu();
      post(action, at);
      canvas.focus();
    });
    return b;
  };
  menu.replaceChildren(
    item('Open source', 'span/open', true),
    item('Pin to LOD0', 'span/pin', !found.span.pinned || found.span.lod !== 0),
    item('Collapse', 'span/collapse', found.span.lod < 3),
    item('Unpin', 'span/unpin', found.span.pinned),
  );
  menu.setAttribute('aria-label', `Actions for ${found.doc.path} ${found.span.startLine}–${found.span.endLine}`);
  menu.hidden = false;
  menu.style.left = `${Math.min(window.innerWidth - menu.offsetWidth - 4, clientX)}px`;
  menu.style.top = `${Math.min(window.innerHeight - menu.offsetHeight - 4, clientY)}px`;
  menu.querySelector<HTMLButtonElement>('button:not(:disabled)')?.focus();
}

function hideMenu(): void {
  menu.hidden = true;
}

// ---- events ----------------------------------------------------------------------------------

function pointerAt(e: MouseEvent): At | undefined {
  if (!layout) return undefined;
  const box = canvas.getBoundingClientRect();
  return hitTest(layout, e.clientX - box.left, e.clientY - box.top + scroller.scrollTop);
}

canvas.addEventListener('mousemove', (e) => {
  const at = pointerAt(e);
  const same = at?.doc === hovered?.doc && at?.span === hovered?.span;
  hovered = at;
  if (at) showTooltip(at, e.clientX, e.clientY);
  else hideTooltip();
  canvas.style.cursor = at ? 'pointer' : 'default';
  if (!same) draw();
});
canvas.addEventListener('mouseleave', () => {
  hovered = undefined;
  hideTooltip();
  draw();
});
canvas.addEventListener('click', (e) => {
  const at = pointerAt(e);
  if (!at) return;
  selected = at;
  saveUiState();
  draw();
  post('span/open', at);
});
canvas.addEventListener('contextmenu', (e) => {
  const at = pointerAt(e);
  if (!at) return;
  e.preventDefault();
  openMenu(at, e.clientX, e.clientY);
});

const MOVES: Record<string, Move> = {
  ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down', Home: 'home', End: 'end',
};

canvas.addEventListener('keydown', (e) => {
  if (!layout) return;
  const move = e.ctrlKey && (e.key === 'Home' || e.key === 'End') ? (e.key === 'Home' ? 'first' : 'last') : MOVES[e.key];
  if (move) {
    e.preventDefault();
    select(moveSelection(layout, selected, move), true);
    return;
  }
  const target = selected ?? moveSelection(layout, undefined, 'home');
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    post('span/open', target);
  } else if (e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey)) {
    e.preventDefault();
    const r = target && spanClientRect(target);
    if (target && r) openMenu(target, r.x, r.bottom + 2);
  } else if (e.key === 'Escape') {
    hideTooltip();
  } else if (!e.ctrlKey && !e.metaKey && !e.altKey) {
    const action = ({ p: 'span/pin', c: 'span/collapse', u: 'span/unpin' } as Record<string, SpanAction>)[e.key.toLowerCase()];
    if (action && target) {
      e.preventDefault();
      post(action, target);
      const found = spanAt(target);
      if (found) announce(`${action === 'span/pin' ? 'Pinning' : action === 'span/collapse' ? 'Collapsing' : 'Unpinning'} ${found.doc.path} ${found.span.startLine}–${found.span.endLine}`);
    }
  }
});
canvas.addEventListener('focus', () => {
  if (!selected && layout) select(moveSelection(layout, undefined, 'home'), true);
  else draw();
});
canvas.addEventListener('blur', () => {
  hideTooltip();
  draw();
});

menu.addEventListener('keydown', (e) => {
  const items = [...menu.querySelectorAll<HTMLButtonElement>('button:not(:disabled)')];
  const i = items.indexOf(document.activeElement as HTMLButtonElement);
  if (e.key === 'Escape') {
    e.preventDefault();
    hideMenu();
    canvas.focus();
  } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    items[(i + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length]?.focus();
  }
});
document.addEventListener('mousedown', (e) => {
  if (!menu.hidden && !menu.contains(e.target as Node)) hideMenu();
});

let scrollSave = 0;
scroller.addEventListener('scroll', () => {
  hideTooltip();
  draw();
  clearTimeout(scrollSave);
  scrollSave = window.setTimeout(saveUiState, 200);
});

new ResizeObserver(() => {
  relayout();
  draw();
}).observe(scroller);

// VS Code switches themes by rewriting <html style> and the body's class; re-read the palette then.
const themeWatch = new MutationObserver(() => {
  palette = readPalette();
  draw();
});
themeWatch.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
themeWatch.observe(document.body, { attributes: true, attributeFilter: ['class'] });

// The query box: a question focuses the memory as "Focus on Query…" does; the new snapshot comes back.
function ask(): void {
  const query = askInput.value.trim();
  if (!query) {
    askInput.focus();
    return;
  }
  vscode.postMessage({ type: 'focus/query', query: query.slice(0, MAX_QUERY_CHARS) });
  announce(`Focusing on “${query}”…`);
}
byId('ask-button').addEventListener('click', ask);
askInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') {
    e.preventDefault();
    ask();
  }
});

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const started = performance.now();
  const message = parseHostMessage(e.data);
  if (!message) {
    console.warn('MegaContext viewer: ignored an unexpected message');
    return;
  }
  const notice = byId('notice');
  notice.hidden = !message.notice;
  notice.textContent = message.notice ?? '';
  showSnapshot(message.snapshot, message.animate, started);
});

showSnapshot(null, false);
byId('empty').hidden = true; // until the host answers; avoids flashing the empty state
vscode.postMessage({ type: 'viewer/ready' });
