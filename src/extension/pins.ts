// Line ranges the user pinned to LOD0 ("Pin Selection to LOD0", the viewer's Pin) or collapsed
// (the viewer's Collapse), kept per workspace.
import * as vscode from 'vscode';
import type { LineHold } from '../engine/protocol';

const KEY = 'megacontext.pins';
/** Where the viewer's collapsed ranges are kept. */
export const COLLAPSED_KEY = 'megacontext.collapsed';

export class Pins {
  constructor(private readonly state: vscode.Memento, private readonly key: string = KEY) {}

  list(): LineHold[] {
    return this.state.get<LineHold[]>(this.key, []);
  }

  async add(hold: LineHold): Promise<LineHold[]> {
    const pins = this.list().filter((p) => !(p.path === hold.path && p.startLine === hold.startLine && p.endLine === hold.endLine));
    pins.push(hold);
    await this.state.update(this.key, pins);
    return pins;
  }

  /** Removes pins of `path` overlapping lines [startLine, endLine]. */
  async remove(path: string, startLine: number, endLine: number): Promise<LineHold[]> {
    const pins = this.list().filter((p) => p.path !== path || p.endLine < startLine || p.startLine > endLine);
    await this.state.update(this.key, pins);
    return pins;
  }
}
