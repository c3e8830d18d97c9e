import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactRunsByDocument, focusReport, lineRanges, markdownText } from '../../src/engine/report';
import type { EntrySummary, FocusResult } from '../../src/engine/protocol';
import type { InContextItem } from '../../src/webview/protocol';

function entry(display: string, lod: number, startLine: number, endLine: number, start: number): EntrySummary {
  return { path: `/w/${display}`, display, kind: 'file', lod, start, end: start + 32, charStart: 0, charEnd: 1, startLine, endLine, held: false };
}

// message.py as in the issue: three exact runs with gists between them.
const ENTRIES: EntrySummary[] = [
  entry('email/message.py', 2, 1, 359, 0),
  entry('email/message.py', 0, 360, 365, 32),
  entry('email/message.py', 0, 366, 371, 64),
  entry('email/message.py', 1, 372, 1054, 96),
  entry('email/message.py', 0, 1055, 1070, 128),
  entry('email/message.py', 1, 1071, 1153, 160),
  entry('email/message.py', 0, 1154, 1166, 192),
  entry('email/message.py', 2, 1167, 1200, 224),
  entry('email/parser.py', 3, 1, 80, 0),
];

function result(over: Partial<FocusResult> = {}): Omit<FocusResult, 'report' | 'snapshot'> {
  return {
    query: 'how are headers folded?', budget: 2048, prompt: '', tokens: 2000, entries: ENTRIES,
    composition: [0, 1, 2, 3].map((lod) => ({ lod, entries: ENTRIES.filter((e) => e.lod === lod).length })),
    exactTokens: 900, documents: 2, scorer: 'lexical', telemetry: {}, timings: {}, ...over,
  };
}

test('exact runs are listed one range each, never one range spanning the gaps between them', () => {
  const runs = exactRunsByDocument(ENTRIES);
  assert.equal(lineRanges(runs.get('email/message.py')!), 'L360-371, L1055-1070, L1154-1166');
  assert.equal(runs.get('email/parser.py'), undefined);
  const report = focusReport(result());
  assert.match(report, /email\/message\.py {2}exact L360-371, L1055-1070, L1154-1166\n/);
  assert.doesNotMatch(report, /L360-1166/);
});

test('the report lists what is in context and why, and workspace text cannot add Markdown or HTML', () => {
  const hostile = 'x](javascript:alert(1)) <img src=x onerror=alert(2)> **bold** | cell';
  const items: InContextItem[] = [
    { doc: 0, path: 'email/message.py', startLine: 360, endLine: 371, names: ['Message L360', 'get_all L366'], matched: ['headers', 'folded'], score: 0.8, pinned: false, tokens: 120 },
    { doc: 0, path: hostile, startLine: 5, endLine: 5, names: [hostile], matched: [], score: 0.25, pinned: true, tokens: 10 },
  ];
  const report = focusReport(result({ query: hostile }), items);
  assert.match(report, /\| email\\\/message\\\.py \| L360-371 \| Message L360, get\\_all L366 \| matches headers, folded \|/);
  assert.match(report, /\| L5 \| .* \| pinned \|/);
  // No raw markup survives outside the code block: every bracket, angle bracket, star and pipe is escaped.
  const outsideCode = report.split(/^`{3,}$/m)[0];
  assert.doesNotMatch(outsideCode.replace(/\\[!-/:-@[-`{-~]/g, ''), /<img|\]\(javascript:|\*\*bold/);
  assert.equal(markdownText('a|b<c>\n# d'), 'a\\|b\\<c\\> \\# d');
});

test('a path holding a code fence cannot close the report\'s strip block', () => {
  const entries = [entry('weird```name.md', 0, 1, 2, 0)];
  const report = focusReport(result({ entries, composition: [{ lod: 0, entries: 1 }], documents: 1 }));
  const fences = report.match(/^`{3,}$/gm) ?? [];
  assert.equal(fences.length, 2);
  assert.ok(fences[0].length >= 4, `fence ${fences[0]}`);
});

test('the report names the scorer that ran: the lexical plan, the plan with LensNet v2, or LensNet', () => {
  assert.match(focusReport(result()), /; relevance by the lexical plan\./);
  assert.match(focusReport(result({ scorer: 'lens2' })), /; relevance by the plan with LensNet v2's values\./);
  assert.match(focusReport(result({ scorer: 'lens' })), /; relevance by LensNet\./);
});
