// Units from a tree-sitter tree. The walk moves a TreeCursor over the children of the node types a
// language lists (languages.ts) and compares numeric type ids, so it never crosses into wasm for the
// bulk of the tree (expressions, statements inside function bodies it has no reason to look at);
// Node objects are made only for units and top-level statements.
import type { Language, Node, Tree, TreeCursor } from 'web-tree-sitter';
import type { Unit, UnitKind } from '../units';
import { textOf, type LanguageSpec, type Rule } from './languages';

/** tree-sitter's symbol for ERROR nodes ((TSSymbol)-1): walked like a container, so units inside survive. */
const ERROR_SYMBOL = 0xffff;
const ERROR_RULE: Rule = { role: 'container' };
/** A name is an identifier or a dotted / scoped path of them (`app.get`, `Foo::bar`, `#private`). */
const SIMPLE_NAME = /^[\p{L}_$#@~][\p{L}\p{N}_$#@.:~!?=]*$/u;
const MAX_NAME = 100;

/** A grammar ready to use: the loaded language and its rules indexed by node type id. */
export interface CompiledLanguage {
  spec: LanguageSpec;
  language: Language;
  rules: (Rule | undefined)[];
  functionValues: ReadonlySet<string>;
  classValues: ReadonlySet<string>;
}

export function compileLanguage(spec: LanguageSpec, language: Language): CompiledLanguage {
  const rules: (Rule | undefined)[] = [];
  for (let id = 0; id < language.nodeTypeCount; id++) {
    const type = language.nodeTypeForId(id);
    // Keywords share names with node types (Ruby's `class`, TypeScript's `module`): named nodes only.
    if (type && Object.hasOwn(spec.rules, type) && language.nodeTypeIsNamed(id)) rules[id] = spec.rules[type];
  }
  return { spec, language, rules, functionValues: new Set(spec.functionValues), classValues: new Set(spec.classValues) };
}

/** Last line of a node: one that ends just after a '\n' (column 0) ends on the line before. */
function lastRow(start: { row: number }, end: { row: number; column: number }): number {
  return end.column === 0 && end.row > start.row ? end.row - 1 : end.row;
}
const endRow = (n: Node | TreeCursor): number => lastRow(n.startPosition, n.endPosition);

/** Units of a parsed tree, in document order (parents before children). */
export function treeUnits(lang: CompiledLanguage, tree: Tree, text: string): Unit[] {
  const walker = new Walker(lang, text);
  const cursor = tree.walk();
  try {
    walker.children(cursor, -1, true, -1, false);
  } finally {
    cursor.delete();
  }
  return walker.units;
}

class Walker {
  readonly units: Unit[] = [];
  constructor(private readonly lang: CompiledLanguage, private readonly text: string) {}

  /**
   * Walks the children of the cursor's node and leaves the cursor back on it. `top`: the children are
   * top-level statements. `outer`: the row where an enclosing wrapper (decorators, export) or group
   * starts, -1 if none; `grouped`: `outer` counts only for a unit that is its group's one named child.
   */
  children(c: TreeCursor, parent: number, top: boolean, outer: number, grouped: boolean): void {
    if (!c.gotoFirstChild()) return;
    let prefix = -1;
    do {
      if (!c.nodeIsNamed) continue;
      const id = c.nodeTypeId;
      const rule = id === ERROR_SYMBOL ? ERROR_RULE : this.lang.rules[id];
      const role = rule?.role;
      if (role === 'comment') continue;
      if (role === 'prefix') {
        if (prefix < 0) prefix = c.startPosition.row;
        continue;
      }
      const before = this.units.length;
      const start = prefix < 0 ? outer : outer < 0 ? prefix : Math.min(outer, prefix);
      switch (role) {
        case 'def': this.def(c, rule as Extract<Rule, { role: 'def' }>, parent, start, grouped); break;
        case 'binding': this.binding(c.currentNode, rule as Extract<Rule, { role: 'binding' }>, parent, start, grouped); break;
        case 'root': this.children(c, parent, top, -1, false); break;
        case 'container': this.children(c, parent, false, -1, false); break;
        case 'wrapper': this.children(c, parent, false, start < 0 ? c.startPosition.row : start, grouped); break;
        case 'group': this.children(c, parent, false, start < 0 ? c.startPosition.row : start, true); break;
      }
      if (top && role !== 'root') this.statement(c, before, parent, start);
      prefix = -1;
    } while (c.gotoNextSibling());
    c.gotoParent();
  }

  private push(node: Node, bodyOwner: Node, kind: UnitKind, name: string, nameNode: Node | null, parent: number, outer: number, grouped: boolean): number {
    if (kind === 'function' && parent >= 0) {
      const k = this.units[parent]!.kind;
      if (k === 'class' || k === 'interface') kind = 'method';
    }
    // A group (`const f = …`, Go `type T …`) lends its start only to its one declaration.
    if (grouped && outer >= 0 && node.parent?.namedChildCount !== 1) outer = -1;
    const nodeStart = node.startPosition.row;
    const start = outer >= 0 ? Math.min(outer, nodeStart) : nodeStart;
    const line = nameNode ? nameNode.startPosition.row : nodeStart;
    const end = Math.max(endRow(node), line);
    this.units.push({ kind, name, start, line, end, headEnd: Math.min(end, Math.max(line, this.headEnd(bodyOwner, line))), parent });
    return this.units.length - 1;
  }

  /** Last line of the head: up to the body's opening (Python: its `:`, plus a docstring right after). */
  private headEnd(node: Node, line: number): number {
    const body = node.childForFieldName('body');
    if (!body) {
      const params = node.childForFieldName('parameters');
      return params ? endRow(params) : line;
    }
    if (this.lang.spec.docstrings && body.type === 'block') {
      const first = body.firstNamedChild;
      if (first?.type === 'expression_statement' && first.firstNamedChild?.type === 'string') return endRow(first);
    }
    const before = body.previousSibling;
    return before ? endRow(before) : body.startPosition.row;
  }

  private def(c: TreeCursor, rule: Extract<Rule, { role: 'def' }>, parent: number, outer: number, grouped: boolean): void {
    const node = c.currentNode;
    const kind = typeof rule.kind === 'function' ? rule.kind(node) : rule.kind;
    if (!kind) return;
    const nameNode = rule.name ? rule.name(node) : node.childForFieldName('name');
    const index = this.push(node, node, kind, nameNode ? cleanName(textOf(nameNode, this.text)) : '', nameNode, parent, outer, grouped);
    this.children(c, index, false, -1, false);
  }

  /**
   * `name = function …` / `name: () => …` / `name = class …`, named after the first name of a chain
   * (`res.contentType = res.type = function …`); an object value is searched for more.
   */
  private binding(node: Node, rule: Extract<Rule, { role: 'binding' }>, parent: number, outer: number, grouped: boolean): void {
    let value = node.childForFieldName(rule.value);
    while (value && value.typeId === node.typeId) value = value.childForFieldName(rule.value);
    if (!value) return;
    const isFunction = this.lang.functionValues.has(value.type);
    let index = parent;
    if (isFunction || this.lang.classValues.has(value.type)) {
      const nameNode = node.childForFieldName(rule.name);
      let name = nameNode ? textOf(nameNode, this.text) : '';
      if (nameNode?.type === 'string') name = name.slice(1, -1);
      index = this.push(node, value, isFunction ? rule.kind : 'class', cleanName(name), nameNode, parent, outer, grouped);
    } else if (this.lang.rules[value.typeId]?.role !== 'container') {
      return;
    }
    const cursor = value.walk();
    try {
      this.children(cursor, index, false, -1, false);
    } finally {
      cursor.delete();
    }
  }

  /**
   * A top-level node that spans several lines and is not itself a unit's extent becomes a 'statement'
   * unit, inserted before the units found inside it (which become its children). `prefix`: the row of
   * attributes before it, -1 if none.
   */
  private statement(c: TreeCursor, before: number, parent: number, prefix: number): void {
    const row = c.startPosition.row;
    const start = prefix >= 0 ? Math.min(prefix, row) : row;
    const end = endRow(c);
    if (end <= row) return;
    const first = this.units[before];
    if (first && first.start <= start && first.end >= end) return;
    const node = c.currentNode;
    for (let i = before; i < this.units.length; i++) {
      const u = this.units[i]!;
      u.parent = u.parent === parent ? before : u.parent >= before ? u.parent + 1 : u.parent;
    }
    this.units.splice(before, 0, { kind: 'statement', name: statementName(node, this.text), start, line: row, end, headEnd: row, parent });
  }
}

/** The identifier a top-level statement defines (`x = …`, `const x = …`, `int x[] = …`, `mod x`), or ''. */
function statementName(node: Node, text: string): string {
  let n: Node | null = node;
  for (let depth = 0; n && depth < 6; depth++) {
    if (n.endIndex - n.startIndex <= MAX_NAME && SIMPLE_NAME.test(textOf(n, text))) return textOf(n, text);
    n = n.childForFieldName('name') ?? n.childForFieldName('left') ?? n.childForFieldName('declarator')
      ?? n.childForFieldName('declaration') ?? (n.namedChildCount === 1 ? n.firstNamedChild : null);
  }
  return '';
}

/** Names are one line of at most MAX_NAME characters, whitespace collapsed. */
function cleanName(name: string): string {
  const flat = name.includes('\n') || name.includes('  ') ? name.replace(/\s+/g, ' ') : name;
  return flat.length > MAX_NAME ? flat.slice(0, MAX_NAME) : flat.trim();
}
