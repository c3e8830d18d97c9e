// The layer rules (README, "Layers"), checked by `npm run lint:layers` as a step of `npm test`.
// Type-only imports count: a layer that may not see a module may not see its types either.
// Packages are matched by where they resolve: `vscode` resolves to its types (@types/vscode).
const VSCODE = '(^|/)node_modules/@types/vscode/';
const ONNX = '(^|/)node_modules/onnxruntime-node/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment: 'src/core is the engine without a host: Node built-ins and small libraries, never vscode, never onnxruntime-node.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: [VSCODE, ONNX] },
    },
    {
      name: 'core-imports-only-core',
      comment: 'Nothing in src/core runs back up a layer (engine, models, extension, webview, cli, mcp, eval).',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^(src|media|test|scripts)/', pathNot: '^src/core/' },
    },
    {
      name: 'onnx-only-in-the-engine-process',
      comment: 'onnxruntime-node is loaded by src/models (and reported on by the engine host), never by the extension, the viewer or the CLI directly.',
      severity: 'error',
      from: { path: '^(src|media/src)/', pathNot: '^src/(models|engine)/' },
      to: { path: ONNX },
    },
    {
      name: 'vscode-only-in-the-extension',
      comment: 'Only the extension and the viewer host side (src/webview) run in the extension host; everything else must run in plain Node.',
      severity: 'error',
      from: { path: '^(src|media/src)/', pathNot: '^src/(extension|webview)/' },
      to: { path: VSCODE },
    },
    {
      name: 'extension-sees-only-protocols',
      comment: 'The extension talks to the engine over JSON-RPC: it may import the engine protocol (and src/tools, src/webview), never core, models or engine internals (nor the CLI, MCP server or eval harness).',
      severity: 'error',
      from: { path: '^src/extension/' },
      to: { path: '^src/(core|models|engine|cli|mcp|eval)/', pathNot: '^src/engine/protocol\\.ts$' },
    },
    {
      name: 'webview-host-side-sees-only-protocols',
      comment: 'The viewer host side (src/webview) works on snapshots it is sent: the engine protocol at most, never core, models or engine internals.',
      severity: 'error',
      from: { path: '^src/webview/' },
      to: { path: '^src/(core|models|engine|extension|cli|mcp|eval)/', pathNot: '^src/engine/protocol\\.ts$' },
    },
    {
      name: 'webview-app-sees-only-the-viewer-protocol',
      comment: 'The webview app runs in the browser: it sees itself, the viewer protocol and the DOM-free layout built on it (media/tsconfig.json includes the same two).',
      severity: 'error',
      from: { path: '^media/src/' },
      to: { pathNot: '^(media/src/|src/webview/(protocol|layout)\\.ts$)' },
    },
    {
      name: 'viewer-shared-modules-stay-pure',
      comment: 'src/webview/protocol.ts and layout.ts are compiled into the browser app too: they import nothing but each other.',
      severity: 'error',
      from: { path: '^src/webview/(protocol|layout)\\.ts$' },
      to: { pathNot: '^src/webview/protocol\\.ts$' },
    },
    {
      name: 'tools-contract-stands-alone',
      comment: 'src/tools (the agent tools\' schemas, input validation and workspace paths) is shared by the extension\'s language-model tools and the MCP server: Node built-ins only, nothing else of ours.',
      severity: 'error',
      from: { path: '^src/tools/' },
      to: { path: '^(src|media)/', pathNot: '^src/tools/' },
    },
    {
      name: 'engine-knows-no-host',
      comment: 'src/engine is shared by the engine host, the CLI and the MCP server: it may use core, models and the viewer protocol, never the extension, the viewer host side, the CLI or the MCP server.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^src/(extension|cli|mcp|eval|tools)/|^src/webview/(?!protocol\\.ts$)' },
    },
    {
      name: 'models-only-see-core',
      comment: 'src/models (the ONNX runtime) implements core\'s ModelRuntime: it may import core, nothing above it.',
      severity: 'error',
      from: { path: '^src/models/' },
      to: { path: '^src/', pathNot: '^src/(core|models)/' },
    },
    {
      name: 'command-lines-are-leaves',
      comment: 'The CLI and the MCP server run the engine in-process: they may import engine, core, models and eval, never the extension or the viewer host side.',
      severity: 'error',
      from: { path: '^src/(cli|mcp)/' },
      to: { path: '^src/(extension)/|^src/webview/(?!protocol\\.ts$)' },
    },
    {
      name: 'nothing-imports-the-entry-points',
      comment: 'The CLI, the MCP server and the extension are entry points: no other layer imports them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|mcp|extension)/' },
      to: { path: '^src/(cli|mcp|extension)/' },
    },
    {
      name: 'no-circular',
      comment: 'Imports run one way; a cycle means two modules are one. Cycles made only by type imports (erased when compiled, e.g. src/core/units/*.ts naming the Unit type of src/core/units.ts) load fine and are not counted.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that resolves to nothing is a broken build waiting to happen.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(out|dist|media/dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
