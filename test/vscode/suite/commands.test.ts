import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { FocusResult, IndexResult, LineHold } from '../../../src/engine/protocol';
import { test } from './harness';
import { fakeChatModel, indexedApi, waitFor, workspaceRoot } from './util';

test('every MegaContext command is contributed and registered', async () => {
  await indexedApi();
  const registered = await vscode.commands.getCommands(true);
  const contributed = (vscode.extensions.getExtension('megacontext.megacontext')!.packageJSON as { contributes: { commands: { command: string }[] } }).contributes.commands.map((c) => c.command);
  assert.ok(contributed.length >= 10);
  for (const id of contributed) assert.ok(registered.includes(id), `${id} is contributed but not registered`);
});

test('Index and Rebuild run and report what they did', async () => {
  await indexedApi();
  const index = await vscode.commands.executeCommand<IndexResult>('megacontext.index');
  assert.ok(index && index.files >= 5);
  const rebuild = await vscode.commands.executeCommand<IndexResult>('megacontext.rebuild');
  assert.ok(rebuild && rebuild.added >= 5, `rebuild re-added ${rebuild?.added} files`);
}, { timeoutMs: 120_000 });

const REPORT_URI = vscode.Uri.from({ scheme: 'megacontext-focus', path: '/MegaContext Focus.md' });
const reportText = async () => (await vscode.workspace.openTextDocument(REPORT_URI)).getText();
/** Tabs showing the focus report: as a rendered Markdown preview, and as raw Markdown source. */
function reportTabs(): { previews: number; sources: number } {
  const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs);
  return {
    previews: tabs.filter((t) => t.input instanceof vscode.TabInputWebview && /markdown\.preview/.test(t.input.viewType) && t.label.includes('MegaContext Focus')).length,
    sources: tabs.filter((t) => t.input instanceof vscode.TabInputText && t.input.uri.scheme === 'megacontext-focus').length,
  };
}

test('Focus on Query opens the report as a Markdown preview, one tab for every query, with exact runs listed one by one', async () => {
  await indexedApi();
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  const first = await vscode.commands.executeCommand<FocusResult>('megacontext.focusOnQuery', 'how are returns handled?');
  assert.ok(first && first.tokens <= first.budget);
  await waitFor('the report preview', () => reportTabs().previews === 1);
  const second = await vscode.commands.executeCommand<FocusResult>('megacontext.focusOnQuery', 'inventory restock');
  await waitFor('the report to show the second query', async () => (await reportText()).includes('inventory restock'));
  assert.deepEqual(reportTabs(), { previews: 1, sources: 0 }, 'each query must reuse the one preview tab, never open raw Markdown');
  const text = await reportText();
  assert.match(text, /## Prompt\n\n`{3,}text\nMegaContext working context/);
  assert.ok(text.includes('**In context**'), 'the report lists what is in context');
  // Every document's exact runs, one range per run, as the prompt marks them.
  const runs = new Map<string, string[]>();
  let path = '';
  for (const line of second.prompt.split('\n')) {
    const h = /^## (.+?) \(/.exec(line);
    if (h) path = h[1];
    const m = /^\[\[exact L(\d+)-(\d+)\]\]$/.exec(line);
    if (m) runs.set(path, [...(runs.get(path) ?? []), m[1] === m[2] ? `L${m[1]}` : `L${m[1]}-${m[2]}`]);
  }
  assert.ok(runs.size > 0, 'the focus has exact text');
  for (const [p, rs] of runs) assert.ok(text.includes(`${p}  exact ${rs.join(', ')}`), `the report does not list ${p}'s exact runs as ${rs.join(', ')}`);
}, { timeoutMs: 90_000 });

test('pinning and unpinning lines refocuses, and the open report shows the new focus', async () => {
  const api = await indexedApi();
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await vscode.commands.executeCommand<FocusResult>('megacontext.focusOnQuery', 'inventory restock');
  const returnsExact = (r: FocusResult | undefined) => r?.entries.some((e) => e.display === 'docs/returns.md' && e.lod === 0 && e.startLine === 1) ?? false;
  assert.equal(returnsExact(api.focus.last), false, 'precondition: docs/returns.md line 1 is not exact for this query');
  await waitFor('the report', async () => (await reportText()).includes('inventory restock'));
  assert.doesNotMatch(await reportText(), /docs\/returns\.md {2}exact L1-/);
  const before = api.focus.last;
  const path = join(workspaceRoot(), 'docs', 'returns.md');
  const editor = await vscode.window.showTextDocument(vscode.Uri.file(path));
  editor.selection = new vscode.Selection(0, 0, 2, 0);
  await vscode.commands.executeCommand<LineHold[]>('megacontext.pinSelection');
  assert.notEqual(api.focus.last, before, 'pinning did not refocus');
  assert.equal(api.focus.last?.query, 'inventory restock', 'the refocus keeps the report\'s question');
  assert.ok(returnsExact(api.focus.last), 'the pinned lines are not exact after the pin');
  await waitFor('the report to show the pinned lines', async () => /docs\/returns\.md {2}exact L1-/.test(await reportText()));
  const pinned = api.focus.last;
  await vscode.commands.executeCommand<LineHold[]>('megacontext.unpinSelection');
  assert.notEqual(api.focus.last, pinned, 'unpinning did not refocus');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}, { timeoutMs: 90_000 });

test('Copy Working Context as Prompt returns (and copies) the prompt', async () => {
  await indexedApi();
  const prompt = await vscode.commands.executeCommand<string>('megacontext.copyWorkingContext', 'inventory restock');
  assert.match(prompt ?? '', /^MegaContext working context/);
});

test('Pin Selection holds those lines at LOD0; Unpin releases them', async () => {
  const api = await indexedApi();
  const path = join(workspaceRoot(), 'docs', 'returns.md');
  const editor = await vscode.window.showTextDocument(vscode.Uri.file(path));
  editor.selection = new vscode.Selection(0, 0, 2, 0);
  const pins = await vscode.commands.executeCommand<LineHold[]>('megacontext.pinSelection');
  assert.deepEqual(pins.filter((p) => p.path === path), [{ path, startLine: 1, endLine: 2 }]);
  const focused = await api.focus.focus('unrelated question about pricing', 2000);
  assert.ok(focused.entries.some((e) => e.path === path && e.lod === 0 && e.held), 'the pinned lines are not held at LOD0');
  const after = await vscode.commands.executeCommand<LineHold[]>('megacontext.unpinSelection');
  assert.equal(after.filter((p) => p.path === path).length, 0);
  await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
});

test('Select Connected Model picks the fake model by id', async () => {
  await indexedApi();
  const model = await fakeChatModel();
  const chosen = await vscode.commands.executeCommand<{ id: string; maxInputTokens: number }>('megacontext.selectModel', model.id);
  assert.equal(chosen?.id, model.id);
  const result = await vscode.commands.executeCommand<FocusResult>('megacontext.focusOnQuery', 'discounts');
  assert.ok(result.budget <= model.maxInputTokens, `budget ${result.budget} exceeds the selected model's window`);
});

test('Show Focus Viewer puts the sidebar viewer on screen, also after the sidebar was closed', async () => {
  await indexedApi();
  // The command answers from the resolved WebviewView's own `visible` (src/webview/focusViewer.ts revealFocusView).
  assert.equal(await vscode.commands.executeCommand<boolean>('megacontext.showFocusViewer'), true, 'the focus viewer is not visible');
  await vscode.commands.executeCommand('workbench.action.closeSidebar');
  assert.equal(await vscode.commands.executeCommand<boolean>('megacontext.showFocusViewer'), true, 'the focus viewer did not come back');
});

test('Clear Chat Memory removes the chat transcripts', async () => {
  const api = await indexedApi();
  await api.engine.request('appendChat', { session: 'workspace', text: 'User: temporary\nAssistant: ok\n\n' });
  const removed = await vscode.commands.executeCommand<number>('megacontext.clearChatMemory', { confirmed: true });
  assert.ok(removed >= 1);
  const status = await api.engine.request('status', {});
  assert.equal(status.chatDocuments, 0);
});

test('The megacontext.scorer setting switches the focus from the lexical plan (default) to LensNet and back', async () => {
  const api = await indexedApi();
  const question = 'How does applyBestDiscount choose the discount?';
  const config = () => vscode.workspace.getConfiguration('megacontext');
  try {
    const lexical = await api.focus.focus(question, 2000);
    assert.ok(lexical.telemetry.planned > 0, 'the lexical plan scores by default and chose blocks');
    assert.ok(lexical.entries.some((e) => e.lod === 0 && e.display.endsWith('pricing.ts')), 'the plan shows the evidence exactly');
    assert.ok(lexical.tokens <= 2000);
    assert.equal(lexical.scorer, 'lexical');
    await config().update('scorer', 'lens', vscode.ConfigurationTarget.Global);
    const lens = await api.focus.focus(question, 2000);
    assert.equal(lens.scorer, 'lens');
    const shown = await vscode.commands.executeCommand<FocusResult>('megacontext.focusOnQuery', question);
    assert.equal(shown.scorer, 'lens');
    await waitFor('the focus report to say who scored', async () => /; relevance by LensNet\./.test(await reportText()));
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  } finally {
    await config().update('scorer', undefined, vscode.ConfigurationTarget.Global);
  }
  const back = await api.focus.focus(question, 2000);
  assert.equal(back.scorer, 'lexical', 'the lexical plan again once the setting is cleared');
  assert.ok(back.telemetry.planned > 0);
});
