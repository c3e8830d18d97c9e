import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { documentOrder } from '../core/engine';
import { BudgetTooSmallError, DEFAULT_FOCUS, type FocusSettings } from '../core/focus';
import type { PlanOptions } from '../core/plan';
import type { RefreshResult } from '../core/indexer';
import type { ModelRuntime } from '../core/runtime';
import { loadModels, ModelLoadError } from '../models/onnxRuntime';
import { intOption, parseArgs, pathOption, stringOption, UsageError, type ParsedArgs } from './args';
import { packageRoot } from '../core/packageRoot';
import { formatCeiling, locomoCeiling } from '../eval/ceiling';
import { loadConversations } from '../eval/locomo';
import { BASELINES, BM25_FILES, codeHaystack, exactRunLines, type McOptions, formatNamedTable, formatTable, locomoHaystacks, megacontext, runSuite } from '../eval/harness';
import { formatIssueTable, ISSUE_BUDGETS, runIssueSuite, type IssueSplit } from '../eval/issues';
import { focusJson } from '../engine/focusJson';
import { Memory } from '../engine/memory';
import type { IndexResult } from '../engine/protocol';
import { focusText } from '../engine/report';
import { chooseRuntime } from '../engine/runtimeChoice';

/** Code folders never named in the training manifest (models/training/manifest.json "heldOut"). */
const HELD_OUT_CODE = ['/usr/lib/python3.11/json', '/usr/lib/python3.11/email', '/usr/lib/python3.11/logging'];

/** MegaContext variants: the defaults, the lexical scorer, and each NTM option on (over `base` settings). */
function mcMethods(base: Partial<Omit<FocusSettings, 'budget'>> = {}, options: McOptions = {}) {
  return [
    megacontext('mc', 'lens', base, options),
    megacontext('mc-lexical', 'lexical', base, options),
    megacontext('mc-lens2', 'lens2', base, options),
    megacontext('mc-lexical-greedy', 'lexical-greedy', base, options),
    megacontext('mc-lexical+shift', 'lexical-greedy', { ...base, shift: [0.3, 1, 0.3] }, options),
    megacontext('mc+shift', 'lens', { ...base, shift: [0.3, 1, 0.3] }),
    megacontext('mc+gate', 'lens', { ...base, gate: 0.7 }),
    megacontext('mc+sharpen', 'lens', { ...base, sharpen: 2 }),
  ];
}

/** `--plan '{"alpha": 1}'`: options of the lexical plan (mc-lexical) for an eval run. */
function planOverrides(args: ParsedArgs): Partial<PlanOptions> {
  const raw = stringOption(args, 'plan');
  if (raw === undefined) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Partial<PlanOptions>;
  } catch {
    // reported below
  }
  throw new UsageError('--plan takes a JSON object, e.g. {"alpha": 1}');
}

/** `--settings '{"nDiff": 8}'`: allocator settings for every MegaContext method of an eval run. */
function allocatorOverrides(args: ParsedArgs): Partial<Omit<FocusSettings, 'budget'>> {
  const raw = stringOption(args, 'settings');
  if (raw === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new UsageError('--settings takes a JSON object, e.g. {"nDiff": 8}');
  }
  const known = new Set(Object.keys(DEFAULT_FOCUS));
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).some((k) => !known.has(k))) {
    throw new UsageError(`--settings keys must be among ${[...known].join(', ')}`);
  }
  return v as Partial<Omit<FocusSettings, 'budget'>>;
}

const USAGE = `usage:
  megacontext index <path>... [--store DIR]
  megacontext focus <path>... (--query TEXT | --queries FILE.jsonl) [--budget N] [--store DIR] [--json] [--no-prompt]
  megacontext mcp <folder>... [--store DIR] [--budget N] [--scorer KIND] [--include JSON] [--exclude JSON]
  megacontext eval [--locomo DIR|none] [--code DIR,DIR|none] [--budgets 1024,2048] [--limit N] [--methods a,b] [--settings JSON] [--plan JSON] [--block-words N] [--group-children N] [--block-stride N] [--conversations ID,ID] [--ceiling] [--issues DIR|none] [--issues-split dev|test|all] [--issues-limit N] [--issue-budgets 8192,16384,32768] [--json]
options:
  --store DIR      where the tree is persisted (default: ~/.cache/megacontext/<hash of the paths>)
  --budget N       token budget of the working context (default 2048; mcp: of recall when the call names none, default 8192)
  --include/--exclude JSON  mcp: globs (a JSON array, .gitignore syntax) only indexed / never indexed, as the extension's settings
  --scorer KIND    lexical (default: the plan over whole units by word matches), lens2 (the same plan choosing by LensNet v2's learned block values; lexical without the model) or lens (LensNet, the plan filling what it leaves)
  --models DIR     folder holding models.json and the ONNX files (default: the package's models/)
  --providers LIST execution providers to try in order (default cuda,dml,coreml,webgpu,cpu)
  --threads N      CPU threads for inference (1 to 4 × the CPUs)
  --max-file-bytes N  skip larger files (default 1000000)
  -h, --help       print this usage (also: megacontext help)`;

const VALUED = new Set(['include', 'exclude', 'store', 'query', 'queries', 'budget', 'scorer', 'models', 'providers', 'threads', 'max-file-bytes', 'locomo', 'code', 'budgets', 'limit', 'methods', 'settings', 'plan', 'block-words', 'group-children', 'block-stride', 'conversations', 'issues', 'issues-split', 'issues-limit', 'issue-budgets']);
const SWITCHES = new Set(['json', 'no-prompt', 'help', 'quiet', 'ceiling']);

class CliError extends Error {}

interface Query {
  id: string;
  query: string;
}

function defaultStore(paths: string[]): string {
  const key = createHash('sha256').update(paths.join('\0')).digest('hex').slice(0, 16);
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'megacontext', key);
}

function modelsDir(args: ParsedArgs): string {
  return resolve(pathOption(args, 'models') ?? join(packageRoot(), 'models'));
}

/** More threads than this only queue on the same cores (100,000 of them hung and grew without end). */
function maxThreads(): number {
  return Math.max(1, availableParallelism()) * 4;
}

function readQueries(args: ParsedArgs): Query[] {
  const q = stringOption(args, 'query');
  const file = pathOption(args, 'queries');
  if (q !== undefined && file !== undefined) throw new UsageError('give either --query or --queries, not both');
  if (q !== undefined) return [{ id: 'q1', query: q }];
  if (file === undefined) throw new UsageError('focus needs --query TEXT or --queries FILE.jsonl');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`cannot read queries file ${file}`);
  }
  // A UTF-8 byte order mark (Windows editors write one) is not part of the first line's JSON.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: Query[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new CliError(`${file}:${i + 1}: not valid JSON`);
    }
    const o = v as { id?: unknown; query?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.query !== 'string' || o.query.trim() === '') {
      throw new CliError(`${file}:${i + 1}: expected {"id": ..., "query": "..."}`);
    }
    if (o.id !== undefined && typeof o.id !== 'string' && !(typeof o.id === 'number' && Number.isFinite(o.id))) {
      const got = o.id === null ? 'null' : Array.isArray(o.id) ? 'an array' : typeof o.id === 'object' ? 'an object' : `a ${typeof o.id}`;
      throw new CliError(`${file}:${i + 1}: query ${out.length + 1}: "id" must be a string or a number, got ${got}`);
    }
    out.push({ id: o.id === undefined ? `q${out.length + 1}` : String(o.id), query: o.query });
  });
  if (out.length === 0) throw new CliError(`${file}: no queries`);
  return out;
}

function commonRoot(paths: string[]): string {
  const dirs = paths.map((p) => (statSync(p).isDirectory() ? p : dirname(p)));
  let root = dirs[0];
  while (!dirs.every((d) => d === root || d.startsWith(root.endsWith(sep) ? root : root + sep))) root = dirname(root);
  return root;
}

async function loadRuntime(args: ParsedArgs) {
  const providers = stringOption(args, 'providers')?.split(',').map((s) => s.trim()).filter(Boolean);
  const threads = args.options.has('threads') ? intOption(args, 'threads', 0, 1, maxThreads()) : undefined;
  return loadModels(modelsDir(args), { providers, threads });
}

function loadConversationIds(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => n.endsWith('.json')).map((n) => n.replace(/\.json$/, ''));
  } catch {
    throw new CliError(`LoCoMo folder not found: ${dir}`);
  }
}

/** LoCoMo conversations the training manifest gives to LensNet: evaluation must not use them. */
function trainedConversations(manifestPath: string): Set<string> {
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { lensCorpora?: { conversations?: string[] }[] };
    return new Set((m.lensCorpora ?? []).flatMap((c) => c.conversations ?? []));
  } catch {
    throw new CliError(`cannot read the training manifest ${manifestPath}`);
  }
}

async function runEval(args: ParsedArgs, out: NodeJS.WritableStream, log: (s: string) => void): Promise<number> {
  const repo = packageRoot();
  const budgetList = (option: string, fallback: string) => {
    const list = (stringOption(args, option) ?? fallback).split(',').map(Number);
    if (list.some((b) => !Number.isInteger(b) || b < 64)) throw new UsageError(`--${option} takes integers ≥ 64, comma-separated`);
    return list;
  };
  const budgets = budgetList('budgets', '1024,2048,4096,8192');
  const issueBudgets = budgetList('issue-budgets', ISSUE_BUDGETS.join(','));
  const issuesArg = pathOption(args, 'issues');
  const issuesDir = resolve(issuesArg ?? join(repo, '..', 'shared', 'data', 'issue-loc-dev'));
  const issuesSplit = stringOption(args, 'issues-split') ?? 'all';
  if (!['dev', 'test', 'all'].includes(issuesSplit)) throw new UsageError('--issues-split takes dev, test or all');
  const issuesLimit = intOption(args, 'issues-limit', Number.MAX_SAFE_INTEGER, 1);
  const limit = intOption(args, 'limit', Number.MAX_SAFE_INTEGER, 1);
  const locomo = resolve(stringOption(args, 'locomo') ?? join(repo, '..', 'shared', 'data', 'locomo-dev'));
  const codeArg = stringOption(args, 'code') ?? HELD_OUT_CODE.join(',');
  const code = codeArg === 'none' ? [] : codeArg.split(',').filter(Boolean).map((p) => resolve(p));
  const all = [...BASELINES, ...mcMethods(allocatorOverrides(args), { plan: planOverrides(args), blockWords: args.options.has('block-words') ? intOption(args, 'block-words', 7, 1) : undefined, groupChildren: args.options.has('group-children') ? intOption(args, 'group-children', 7, 1) : undefined, blockStride: args.options.has('block-stride') ? intOption(args, 'block-stride', 4, 1) : undefined })];
  const wanted = stringOption(args, 'methods')?.split(',');
  const methods = wanted ? all.filter((m) => wanted.includes(m.name)) : all;
  if (args.options.has('ceiling') && stringOption(args, 'locomo') === 'none') throw new UsageError('--ceiling diagnoses the LoCoMo suite: it cannot run with --locomo none');
  const runtime = await loadRuntime(args);
  log(`eval: models ${runtime.modelId} on ${runtime.info().executionProvider}; budgets ${budgets.join(', ')}; ${args.options.has('ceiling') ? 'LoCoMo ceiling of mc-lexical' : `methods ${methods.map((m) => m.name).join(', ')}`}`);
  const results = [];
  if (stringOption(args, 'locomo') !== 'none') {
    const trained = trainedConversations(join(repo, 'models', 'training', 'manifest.json'));
    const only = stringOption(args, 'conversations')?.split(',');
    let skip: Set<string>;
    if (only) {
      // Tuning on the development conversations: everything not named is left out.
      skip = new Set(loadConversationIds(locomo).filter((id) => !only.includes(id)));
      log(`eval: LoCoMo conversations ${only.join(', ')} only${only.some((c) => trained.has(c)) ? ' (LensNet trained on some of them: development numbers, not a test)' : ''}`);
    } else {
      skip = trained;
      log(`eval: LoCoMo conversations ${[...trained].join(', ') || 'none'} trained LensNet and are left out`);
    }
    if (args.options.has('ceiling')) {
      // A diagnosis of the LoCoMo misses (src/eval/ceiling.ts) instead of the methods' table.
      const convs = loadConversations(locomo).filter((c) => !skip.has(c.id)).map((c) => ({ ...c, questions: c.questions.slice(0, limit) }));
      const rows = await locomoCeiling(convs, runtime, budgets, log);
      out.write(args.options.has('json') ? JSON.stringify(rows) + '\n' : formatCeiling(convs.map((c) => c.id), rows) + '\n');
      return 0;
    }
    const t0 = performance.now();
    results.push(...(await runSuite('locomo', locomoHaystacks(locomo, limit, skip), runtime, methods, budgets, log)));
    log(`eval: locomo took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  for (const folder of code) {
    if (!existsSync(folder)) throw new CliError(`code folder not found: ${folder}`);
    const t0 = performance.now();
    const h = await codeHaystack(folder, limit);
    results.push(...(await runSuite(h.name, [h], runtime, methods, budgets, log)));
    log(`eval: ${h.name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const tables = results.length > 0 ? [formatTable(results)] : [];
  const named = formatNamedTable(results);
  if (named) tables.push(named);
  const rows: object[] = [...results];
  // The issue suite compares the engine (the default plan, LensNet v2's values for it, LensNet) with file-
  // and chunk-level retrieval, not with every variant.
  const issueMethods = [BM25_FILES, ...all].filter((m) => (wanted ? wanted.includes(m.name) : ['bm25-files', 'bm25-chunks', 'mc', 'mc-lexical', 'mc-lens2'].includes(m.name)));
  if (issuesArg !== 'none' && issueMethods.length > 0) {
    const splits: IssueSplit[] = issuesSplit === 'all' ? ['dev', 'test'] : [issuesSplit as IssueSplit];
    log(`eval: issue localization (${issuesDir}), ${splits.join(' and ')} split, budgets ${issueBudgets.join(', ')}, methods ${issueMethods.map((m) => m.name).join(', ')}`);
    const issues = await runIssueSuite({ dataDir: issuesDir, cacheDir: join(repo, '.cache', 'issue-loc'), runtime, methods: issueMethods, budgets: issueBudgets, splits, limit: issuesLimit, log });
    log(`eval: issue localization took ${(issues.timing.totalMs / 1000).toFixed(1)} s`);
    tables.push(formatIssueTable(issues.rows, issues.timing));
    rows.push(...issues.rows);
  }
  // Every exact run should be whole lines (DESIGN.md invariant 2): only a line over 32 tokens is cut.
  const lineTrue = [...exactRunLines].map(([m, c]) => `${m} ${c.lineTrue} of ${c.runs} (${((100 * c.lineTrue) / c.runs).toFixed(2)}%)`);
  if (lineTrue.length > 0) tables.push(`Exact runs that are whole lines (the rest are pieces of lines over 32 tokens): ${lineTrue.join('; ')}`);
  out.write(args.options.has('json') ? JSON.stringify(rows) + '\n' : tables.join('\n\n') + '\n');
  return 0;
}

/**
 * The learned models, or (when they cannot load) the lexical-only runtime with a one-line warning; with
 * `storeDir`, also the store folder for that runtime's tree (the engine host makes the same choice).
 */
async function loadRuntimeOrLexical(args: ParsedArgs, warn: (s: string) => void, storeDir?: string): Promise<{ runtime: ModelRuntime; storeDir: string | undefined }> {
  const choice = await chooseRuntime(() => loadRuntime(args), storeDir, (e) => e instanceof ModelLoadError);
  if (choice.lexicalOnly !== undefined) warn(`megacontext: warning: ${choice.lexicalOnly}; running in lexical-only mode (focus by word matches alone)`);
  return choice;
}

/**
 * The engine's Memory (src/engine/memory.ts) over `args.paths`, opened from the store and indexed: the one
 * the engine host and the MCP server run, in-process. An unreadable store, or one that cannot be written,
 * costs the cache for next time, never the answer.
 */
async function openIndexed(args: ParsedArgs, log: (s: string) => void, warn: (s: string) => void): Promise<{ memory: Memory; summary: IndexResult; root: string; storeDir: string }> {
  if (args.paths.length === 0) throw new UsageError(`${args.command} needs at least one path`);
  const paths = args.paths.map((p) => resolve(p));
  for (const p of paths) if (!existsSync(p)) throw new CliError(`no such file or folder: ${p}`);
  const storeDir = resolve(pathOption(args, 'store') ?? defaultStore(paths));
  if (existsSync(storeDir) && !statSync(storeDir).isDirectory()) throw new CliError(`store is not a folder: ${storeDir}`);
  const maxFileBytes = intOption(args, 'max-file-bytes', 1_000_000, 1);
  // The lexical-only tree has a store of its own: the learned gists stay for when the models are back.
  const { runtime, storeDir: chosenStore } = await loadRuntimeOrLexical(args, warn, storeDir);
  const treeStore = chosenStore ?? storeDir;
  const root = commonRoot(paths);
  const memory = await Memory.open({
    runtime,
    storeDir: treeStore,
    // Paths are shown relative to the folder common to every path given.
    displayRoot: root,
    onUnreadableStore: (message) => warn(`megacontext: warning: ${message}; indexing without the store`),
    onSaveError: (e) => {
      const code = (e as NodeJS.ErrnoException).code;
      warn(`megacontext: warning: could not save the store in ${treeStore} (${code ?? (e instanceof Error ? e.message : String(e))}); the next run indexes again`);
    },
    // A cold-start rebuild (an invariant check failed) is logged on stderr, --json or not, and kept in the telemetry.
    onRebuild: (line) => warn(`megacontext: warning: ${line}`),
  });
  log(`store ${treeStore}: ${memory.store}; models ${runtime.modelId} on ${runtime.info().executionProvider}`);
  try {
    const summary = await memory.index({ roots: paths, maxFileBytes }, undefined, (p) => log(`  ${p.documents}/${p.totalDocuments} documents, ${p.tokens} tokens`));
    return { memory, summary, root, storeDir: treeStore };
  } catch (e) {
    await memory.close();
    throw e;
  }
}

function describeIndex(s: IndexResult, memory: Memory): string {
  const counts: Record<string, number> = {};
  for (const f of s.skipped) counts[f.reason] = (counts[f.reason] ?? 0) + 1;
  const skipped = Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
  const rate = s.ms > 0 ? Math.round((s.tokens / s.ms) * 1000) : 0;
  const { blocksGisted, blocksReused } = memory.tree.counters;
  return (
    `indexed ${s.files} files, ${s.tokens} tokens (${s.added} new, ${s.updated} changed, ${s.unchanged} unchanged, ${s.removed} removed) ` +
    `in ${(s.ms / 1000).toFixed(2)} s (${rate} tokens/s); blocks gisted ${blocksGisted}, reused ${blocksReused}; ` +
    `skipped: ${skipped}${s.redacted.length ? `; secrets redacted in ${s.redacted.length} files` : ''}`
  );
}

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, VALUED, SWITCHES);
    if (args.options.has('help') || args.command === '' || args.command === 'help') {
      out.write(USAGE + '\n');
      return args.command === '' && !args.options.has('help') ? 2 : 0;
    }
    const quiet = args.options.has('quiet') || args.options.has('json');
    const log = (s: string) => {
      if (!quiet) err.write(s + '\n');
    };
    const warn = (s: string) => err.write(s + '\n');
    if (args.command === 'index') {
      const { memory, summary, storeDir } = await openIndexed(args, log, warn);
      await memory.close();
      out.write(describeIndex(summary, memory) + '\n');
      out.write(`store: ${storeDir}\n`);
      return 0;
    }
    if (args.command === 'focus') {
      const queries = readQueries(args);
      const budget = intOption(args, 'budget', 2048, 1);
      const scorer = stringOption(args, 'scorer') ?? 'lexical';
      if (scorer !== 'lens' && scorer !== 'lens2' && scorer !== 'lexical') throw new UsageError('--scorer must be lens, lens2 or lexical');
      const { memory, summary, root } = await openIndexed(args, log, warn);
      try {
        log(describeIndex(summary, memory));
        // The files about to be shown exact are compared with the disk by content first; a change since
        // indexing (or one that kept the mtime) is taken in and the focus done again on the current text.
        const onStale = (fresh: RefreshResult) => {
          const names = [...fresh.changed, ...fresh.removed.map((r) => r.path)].map((p) => relative(root, p) || p);
          warn(`megacontext: warning: ${names.length} file(s) changed since indexing (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}); focused again on their current text`);
        };
        for (const q of queries) {
          const view = await memory.focusView({ query: q.query, budget, scorer }, { onStale });
          if (args.options.has('json')) {
            out.write(JSON.stringify(focusJson(view, q, documentOrder(memory.tree.documents.values()), !args.options.has('no-prompt'))) + '\n');
          } else {
            out.write(focusText(view, !args.options.has('no-prompt')));
          }
        }
      } finally {
        await memory.close();
      }
      return 0;
    }
    if (args.command === 'eval') return await runEval(args, out, log);
    if (args.command === 'mcp') {
      // The memory as an MCP server on stdin/stdout (src/mcp/server.ts); stdout carries the protocol only.
      const { mcpOptions, serveMcp } = require('../mcp/cli') as typeof import('../mcp/cli');
      const options = mcpOptions(args, defaultStore);
      // The lexical-only tree keeps a store folder of its own, chosen with the runtime (engine/runtimeChoice.ts).
      const { runtime, storeDir } = await loadRuntimeOrLexical(args, warn, options.storeDir);
      return await serveMcp({ ...options, runtime, storeDir, log: warn });
    }
    throw new UsageError(`unknown command ${args.command}`);
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`megacontext: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof CliError || e instanceof ModelLoadError || e instanceof BudgetTooSmallError) {
      err.write(`megacontext: error: ${e.message}\n`);
      return 1;
    }
    err.write(`megacontext: error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
