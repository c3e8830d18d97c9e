// The viewer's HTML shell. Kept free of `vscode` so the browser test serves byte-for-byte the page the
// extension serves: same CSP, same markup, only the resource origins differ.

export interface ViewerHtmlOptions {
  /** `webview.cspSource`: the origin resources are loaded from. */
  cspSource: string;
  /** A fresh random nonce per render; the only script allowed to run carries it. */
  nonce: string;
  scriptUri: string;
  styleUri: string;
  /** 'sidebar' (compact) or 'panel' (the editor-area version, taller rows). */
  variant: 'sidebar' | 'panel';
}

export function viewerHtml(o: ViewerHtmlOptions): string {
  const csp = [
    "default-src 'none'",
    `img-src ${o.cspSource} data:`,
    `style-src ${o.cspSource}`,
    `font-src ${o.cspSource}`,
    `script-src 'nonce-${o.nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(o.styleUri)}">
<title>MegaContext focus</title>
</head>
<body data-variant="${o.variant}">
<main id="app" aria-label="MegaContext focus map">
  <p id="notice" class="notice" role="status" hidden></p>
  <div class="ask" role="search">
    <input id="ask-input" class="ask-input" type="text" maxlength="4000" autocomplete="off" spellcheck="false"
      aria-label="Question to focus the memory on" placeholder="Ask what the model should see…">
    <button id="ask-button" class="ask-button" type="button">Focus</button>
  </div>
  <section id="summary" aria-label="Budget">
    <p id="mode" class="mode" role="status" hidden></p>
    <p id="query" class="query"></p>
    <div id="gauge" class="gauge" role="meter" aria-label="Tokens used of the budget" aria-valuemin="0"></div>
    <p id="gauge-text" class="gauge-text"></p>
    <ul id="legend" class="legend" aria-label="Legend"></ul>
    <details id="telemetry-box" class="telemetry"><summary id="telemetry"></summary><p id="telemetry-details"></p></details>
  </section>
  <section id="in-context" class="in-context" aria-labelledby="in-context-title" hidden>
    <h2 id="in-context-title" class="section-title">In context</h2>
    <ol id="in-context-list" class="in-context-list"></ol>
  </section>
  <p id="empty" class="empty" hidden>No focus yet. Type a question above, run “MegaContext: Focus on Query…”, or ask <code>@megacontext</code> in chat.</p>
  <div id="scroller" class="scroller">
    <canvas id="map" class="map" tabindex="0" role="application"
      aria-roledescription="focus map"
      aria-label="Spans of every document by level of detail. Arrow keys move between spans, Home and End to a document's ends, Control+Home and Control+End to the map's, Enter opens, P pins, C collapses, U unpins, Shift+F10 for actions."></canvas>
    <div id="spacer" class="spacer"></div>
  </div>
  <section id="folded" class="folded" aria-label="Documents the model sees only by name" hidden></section>
  <div id="tooltip" class="tooltip" role="tooltip" hidden></div>
  <div id="menu" class="menu" role="menu" hidden></div>
  <div id="live" class="visually-hidden" aria-live="polite" aria-atomic="true"></div>
</main>
<script nonce="${attr(o.nonce)}" src="${attr(o.scriptUri)}"></script>
</body>
</html>`;
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A 32-character nonce from an injected source of random bytes (crypto in the host). */
export function makeNonce(randomBytes: (n: number) => Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(32), (b) => alphabet[b % alphabet.length]).join('');
}
