// Units of documents that need no parser: Markdown sections, chat sessions and turns, and the
// indentation / blank-line fallback used for everything else. All line numbers are 0-based; a line is
// what lies between two '\n' (a '\r' before the '\n' is part of the line and counts as blank space).
import type { Unit } from '../units';

/** The document's lines (a trailing '\n' leaves a last, empty line, which no unit ever includes). */
function splitLines(text: string): string[] {
  return text.split('\n');
}

const BLANK = /^\s*$/;

/** The last line of [start, end] that is not blank (start when all are). */
function trimEnd(lines: string[], start: number, end: number): number {
  while (end > start && BLANK.test(lines[end]!)) end--;
  return end;
}

// ---------------------------------------------------------------------------------------------------
// Markdown

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+|$)(.*)$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
/** Lines that cannot be the text of a setext heading: list items, quotes, tables, HTML, headings. */
const NOT_PARAGRAPH = /^\s*(?:[-*+][ \t]|\d+[.)][ \t]|>|\||<|#)/;

/**
 * Markdown headings (ATX `#` and setext `===`/`---`) as 'section' units nested by level. A section runs
 * to the line before the next heading of the same or a higher level (trailing blank lines left out).
 * `#` inside fenced code blocks and YAML front matter is not a heading.
 */
export function markdownUnits(text: string): Unit[] {
  const lines = splitLines(text);
  const units: Unit[] = [];
  const levels: number[] = [];
  const open: number[] = []; // indexes of the sections still open, outermost first
  const close = (before: number, level: number) => {
    while (open.length && levels[open[open.length - 1]!]! >= level) {
      const u = units[open.pop()!]!;
      u.end = trimEnd(lines, u.headEnd, before - 1);
    }
  };
  const add = (start: number, headEnd: number, level: number, name: string) => {
    close(start, level);
    units.push({ kind: 'section', name, start, line: start, end: headEnd, headEnd, parent: open.length ? open[open.length - 1]! : -1 });
    levels.push(level);
    open.push(units.length - 1);
  };
  let fence = '';
  let i = 0;
  if (lines[0]?.trimEnd() === '---') { // front matter
    const close = lines.findIndex((l, k) => k > 0 && /^(---|\.\.\.)\s*$/.test(l));
    if (close > 0) i = close + 1;
  }
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    const f = FENCE.exec(line);
    if (fence) {
      if (f && f[1]![0] === fence[0] && f[1]!.length >= fence.length && BLANK.test(line.slice(line.indexOf(f[1]!) + f[1]!.length))) fence = '';
      continue;
    }
    if (f) { fence = f[1]!; continue; }
    const atx = ATX.exec(line);
    if (atx) {
      add(i, i, atx[1]!.length, atx[2]!.replace(/[ \t]+#+[ \t]*$/, '').replace(/^#+[ \t]*$/, '').trim());
      continue;
    }
    const next = lines[i + 1];
    if (next !== undefined && SETEXT.test(next) && !BLANK.test(line) && !NOT_PARAGRAPH.test(line) && /^ {0,3}\S/.test(line)) {
      add(i, i + 1, next.trim()[0] === '=' ? 1 : 2, line.trim());
      i++;
    }
  }
  close(lines.length, 0);
  return units;
}

// ---------------------------------------------------------------------------------------------------
// Conversations

/** A chat transcript's turn line (what the chat participant appends). */
const CHAT_TURN = /^(User|Assistant):(?:\s|$)/;
/**
 * A turn in any conversation-like text: an optional LoCoMo dialogue id (`D3:5 `), then a speaker of one
 * to four capitalised words, a colon and text.
 */
const ANY_TURN = /^(?:D\d+:\d+ )?([A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3}):\s+\S/;
const SESSION = /^##(?!#)[ \t]*(.*?)[ \t]*$/;

/**
 * 'session' units for `## ...` lines and 'turn' units for speaker lines; a turn runs until the next turn
 * or session line, a session until the next session line (trailing blank lines left out of both).
 * `generic` accepts any speaker (LoCoMo-style text); otherwise only `User:` / `Assistant:` start turns.
 */
export function conversationUnits(text: string, generic: boolean): Unit[] {
  const lines = splitLines(text);
  const turn = generic ? ANY_TURN : CHAT_TURN;
  const units: Unit[] = [];
  let session = -1;
  let current = -1;
  const finish = (index: number, before: number) => {
    if (index >= 0) units[index]!.end = trimEnd(lines, units[index]!.start, before - 1);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const s = SESSION.exec(line);
    if (s) {
      finish(current, i);
      finish(session, i);
      current = -1;
      units.push({ kind: 'session', name: s[1]!, start: i, line: i, end: i, headEnd: i, parent: -1 });
      session = units.length - 1;
      continue;
    }
    const t = turn.exec(line);
    if (t) {
      finish(current, i);
      units.push({ kind: 'turn', name: t[1]!, start: i, line: i, end: i, headEnd: i, parent: session });
      current = units.length - 1;
    }
  }
  finish(current, lines.length);
  finish(session, lines.length);
  return units;
}

/** Whether most non-empty lines (headings aside) are turns of some speaker, with at least two turns. */
export function looksLikeConversation(text: string): boolean {
  let turns = 0;
  let other = 0;
  for (const line of splitLines(text)) {
    if (BLANK.test(line) || line.startsWith('#')) continue;
    if (ANY_TURN.test(line)) turns++;
    else other++;
  }
  return turns >= 2 && turns >= other;
}

// ---------------------------------------------------------------------------------------------------
// Fallback: indentation and blank lines

/** Nesting deeper than this adds little to an outline and costs time on pathological input. */
const MAX_BLOCK_DEPTH = 4;
/** A definition keyword and its name, a `key:` or `name =` line, or an INI `[section]`: a cheap name for a block. */
const BLOCK_NAME = /^\s*(?:(?:export|public|private|protected|internal|static|async|abstract|final|open|override|data|pub)\s+)*(?:fun|func|def|function|fn|class|struct|enum|interface|trait|object|module|sub|proc|procedure|type|message|service)\s+([A-Za-z_$][\w$]*)|^\s*([A-Za-z_$][\w.$-]*)\s*(?::|=(?!=))(?:\s|$)|^\s*\[([^\]\s]+)\]\s*$/;

function indentOf(line: string): number {
  let n = 0;
  while (n < line.length && (line[n] === ' ' || line[n] === '\t')) n++;
  return n;
}

/**
 * 'block' units from indentation and blank lines: at each level, a block starts at a line of the
 * level's indentation and takes every following line until a blank line is followed by a line indented
 * no deeper than its start (so an indented body with blank lines inside stays one block). Runs of
 * deeper-indented lines inside a block become its child blocks. Never throws; every non-blank line lies
 * in some top-level block.
 */
export function fallbackUnits(text: string): Unit[] {
  const lines = splitLines(text);
  const indent = lines.map((l) => (BLANK.test(l) ? -1 : indentOf(l)));
  const units: Unit[] = [];
  const level = (from: number, to: number, parent: number, depth: number) => {
    let i = from;
    while (i <= to) {
      if (indent[i]! < 0) { i++; continue; }
      const base = indent[i]!;
      let end = i;
      for (let k = i + 1; k <= to; k++) {
        if (indent[k]! < 0) continue;
        if (indent[k - 1]! < 0 && indent[k]! <= base) break;
        end = k;
      }
      const m = BLOCK_NAME.exec(lines[i]!);
      units.push({ kind: 'block', name: m ? (m[1] ?? m[2] ?? m[3])! : '', start: i, line: i, end, headEnd: i, parent });
      const self = units.length - 1;
      if (depth < MAX_BLOCK_DEPTH) {
        // Child blocks: the runs of lines indented deeper than the block's first line.
        for (let k = i + 1; k <= end;) {
          if (indent[k]! < 0 || indent[k]! <= base) { k++; continue; }
          let last = k;
          for (let j = k + 1; j <= end && (indent[j]! < 0 || indent[j]! > base); j++) if (indent[j]! >= 0) last = j;
          if (last > k) level(k, last, self, depth + 1);
          k = last + 1;
        }
      }
      i = end + 1;
    }
  };
  level(0, lines.length - 1, -1, 0);
  return units;
}
