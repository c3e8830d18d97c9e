// A real focus snapshot for the viewer's tests: a small tree built with the fake runtime, focused by
// the real engine, with spans at LOD0, LOD1 and LOD2, and workspace text that looks like HTML.
import { FocusEngine, type WorkingContext } from '../../../src/core/engine';
import type { Hold } from '../../../src/core/focus';
import type { FocusSnapshot } from '../../../src/webview/protocol';
import { snapshotFromWorkingContext } from '../../../src/engine/snapshot';
import { syntheticSource, treeOf } from './corpus';

export const PLANTED_HTML = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
export const QUERY = 'needle_function unique_marker_zebra';

export const FIXTURE_DOCS = [
  { id: '/w/src/orders.py', text: syntheticSource(1, 300) + 'def needle_function(haystack):\n    return unique_marker_zebra\n' + syntheticSource(2, 200) },
  { id: '/w/src/render.py', text: syntheticSource(3, 700) },
  { id: '/w/docs/planted.md', text: `# unique_marker_zebra notes\n\n${PLANTED_HTML}\n\nneedle_function is documented here.\n` },
  { id: '/w/src/budget.py', text: syntheticSource(4, 150) },
];

export const displayPath = (doc: { id: string }): string => doc.id.replace(/^\/w\//, '');

export async function fixtureWorkingContext(query = QUERY, budget = 2400, holds?: Hold[]): Promise<{ wc: WorkingContext; engine: FocusEngine }> {
  const tree = await treeOf(FIXTURE_DOCS);
  const engine = new FocusEngine(tree, tree.runtime);
  const wc = await engine.focus({ query, budget, holds, displayPath });
  return { wc, engine };
}

export async function fixtureSnapshot(): Promise<FocusSnapshot> {
  const { wc } = await fixtureWorkingContext();
  return snapshotFromWorkingContext(wc, displayPath);
}
