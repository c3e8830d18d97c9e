// One webview's conversation with the host, free of `vscode` so it is unit-tested directly: it
// validates every message from the webview, acts only on spans of the snapshot it last sent, and
// re-sends the whole snapshot whenever the webview may have missed one (it loaded, or became visible
// again — a hidden webview drops messages).
import { parseViewerMessage, type FocusSnapshot, type FocusSource, type HostToViewer, type SpanRef } from './protocol';

export interface ViewerPort {
  post(message: HostToViewer): unknown;
  /** Whether the webview can receive messages now. */
  isVisible(): boolean;
}

export interface ViewerSessionOptions {
  log(line: string): void;
  /** Opens a span when the source has no `open` of its own. */
  openFallback(span: SpanRef): unknown;
}

export class ViewerSession {
  private ready = false;
  /** A snapshot arrived while the webview could not receive it. */
  private missed = false;
  private readonly subscriptions: { dispose(): unknown }[];

  constructor(private readonly source: FocusSource, private readonly port: ViewerPort, private readonly options: ViewerSessionOptions) {
    this.subscriptions = [source.onDidFocus(() => this.send(true))];
    if (source.onDidChangeNotice) this.subscriptions.push(source.onDidChangeNotice(() => this.send(false)));
  }

  /** The webview (re)appeared: it may have missed snapshots, so it gets the whole current one again. */
  visibilityChanged(): void {
    if (this.port.isVisible()) this.send(false);
  }

  /** Whether a snapshot was dropped because the webview was hidden or not yet loaded. */
  get behind(): boolean {
    return this.missed;
  }

  /** The webview's page was reloaded (it will say `viewer/ready` again). */
  reset(): void {
    this.ready = false;
  }

  receive(raw: unknown): void {
    const message = parseViewerMessage(raw);
    if (!message) {
      this.options.log(`focus viewer: rejected a malformed message: ${describe(raw)}`);
      return;
    }
    if (message.type === 'viewer/ready') {
      this.ready = true;
      this.send(false);
      return;
    }
    if (message.type === 'focus/query') {
      if (!this.source.query) {
        this.options.log('focus viewer: this view cannot run a focus');
        return;
      }
      this.run(message.type, () => this.source.query!(message.query));
      return;
    }
    const span = this.resolve(message.span);
    if (!span) {
      this.options.log(`focus viewer: rejected ${message.type} for a span not in the current snapshot: ${describe(message.span)}`);
      return;
    }
    const act = (): unknown => {
      switch (message.type) {
        case 'span/open':
          return this.source.open ? this.source.open(span) : this.options.openFallback(span);
        case 'span/pin':
          return this.source.pin(span);
        case 'span/collapse':
          return this.source.collapse(span);
        case 'span/unpin':
          return this.source.unpin(span);
      }
    };
    this.run(message.type, act);
  }

  /** Runs an action for the webview; a failure is logged as one line, never thrown back at it. */
  private run(what: string, act: () => unknown): void {
    try {
      Promise.resolve(act()).catch((err: unknown) => this.options.log(`focus viewer: ${what} failed: ${String(err)}`));
    } catch (err) {
      this.options.log(`focus viewer: ${what} failed: ${String(err)}`);
    }
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }

  private send(animate: boolean): void {
    if (!this.ready || !this.port.isVisible()) {
      this.missed = true;
      return;
    }
    this.missed = false;
    const message: HostToViewer = { type: 'snapshot/didChange', snapshot: this.source.current() ?? null, animate };
    const notice = this.source.notice?.();
    if (notice) message.notice = notice;
    this.port.post(message);
  }

  /** The span as the host knows it, so a webview cannot make the host open or pin arbitrary paths. */
  private resolve(ref: SpanRef): SpanRef | undefined {
    const snapshot: FocusSnapshot | undefined = this.source.current();
    const doc = snapshot?.documents.find((d) => d.path === ref.path);
    const s = doc?.spans.find((x) => x.start === ref.start && x.end === ref.end && x.lod === ref.lod);
    return doc && s ? { path: doc.path, lod: s.lod, start: s.start, end: s.end, startLine: s.startLine, endLine: s.endLine, docId: doc.id } : undefined;
  }
}

function describe(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 200 ? s.slice(0, 200) + '…' : s;
}
