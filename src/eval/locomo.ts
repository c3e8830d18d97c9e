import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One LoCoMo conversation rendered as a document, with its answerable questions. */
export interface Conversation {
  id: string;
  text: string;
  /** dia_id -> string range of its line in `text`. */
  lines: Map<string, [number, number]>;
  /** `answer` is the gold answer's text (LoCoMo stores some as numbers); only diagnoses read it. */
  questions: { question: string; answer: string; evidence: string[]; category: number }[];
  /** dia_id -> the speaker's name. */
  speakers: Map<string, string>;
}

interface Turn {
  speaker: string;
  dia_id: string;
  text: string;
  blip_caption?: string;
}

/**
 * Title line; per session `## Session N (<date time>)`; one line per turn
 * `<dia_id> <speaker>: <text>` with ` [shares an image: <caption>]` when there is a caption.
 * Questions of categories 1–4 (category 5 has no answer in the text) whose evidence exists.
 */
export function renderConversation(id: string, raw: Record<string, unknown>): Conversation {
  const c = (raw.conversation ?? raw) as Record<string, unknown>;
  let text = `# Conversation between ${String(c.speaker_a)} and ${String(c.speaker_b)}\n`;
  const lines = new Map<string, [number, number]>();
  const speakers = new Map<string, string>();
  const sessions = Object.keys(c)
    .map((k) => /^session_(\d+)$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  for (const n of sessions) {
    text += `## Session ${n} (${String(c[`session_${n}_date_time`] ?? '')})\n`;
    for (const t of c[`session_${n}`] as Turn[]) {
      const line = `${t.dia_id} ${t.speaker}: ${t.text}${t.blip_caption ? ` [shares an image: ${t.blip_caption}]` : ''}`;
      lines.set(t.dia_id, [text.length, text.length + line.length]);
      speakers.set(t.dia_id, t.speaker);
      text += line + '\n';
    }
  }
  const qa = (raw.qa ?? []) as { question: string; answer?: unknown; evidence?: string[]; category: number }[];
  const questions = qa
    .filter((q) => q.category >= 1 && q.category <= 4 && (q.evidence?.length ?? 0) > 0)
    .map((q) => ({
      question: q.question,
      answer: q.answer === undefined || q.answer === null ? '' : String(q.answer),
      evidence: (q.evidence ?? []).flatMap((e) => e.split(/[;,]\s*/)).map((e) => e.trim()),
      category: q.category,
    }))
    .filter((q) => q.evidence.every((e) => lines.has(e)));
  return { id, text, lines, questions, speakers };
}

export const LOCOMO_HELP =
  'LoCoMo conversations not found. The dev split lives in ../shared/data/locomo-dev/ beside the checkout ' +
  '(files like 26.json from snap-research/locomo); pass another folder with --locomo DIR.';

export function loadConversations(dir: string): Conversation[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    throw new Error(`${LOCOMO_HELP} (looked in ${dir})`);
  }
  if (names.length === 0) throw new Error(`${LOCOMO_HELP} (no .json files in ${dir})`);
  return names.map((n) => {
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(readFileSync(join(dir, n), 'utf8')) as Record<string, unknown>;
    } catch {
      throw new Error(`${join(dir, n)} is not valid JSON`);
    }
    return renderConversation(n.replace(/\.json$/, ''), raw);
  });
}
