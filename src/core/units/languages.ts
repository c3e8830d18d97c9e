// What each tree-sitter grammar's nodes mean for units. The walk (syntax.ts) never descends into
// expressions: it looks only at the children of nodes listed here, so extraction costs little next to
// parsing. Node type names are those of the grammars in @vscode/tree-sitter-wasm 0.3.1.
import type { Node } from 'web-tree-sitter';
import type { UnitKind } from '../units';

/**
 * How the walk treats a node type:
 * - def: a unit (its kind, and the node naming it when that is not its `name` field); its children are walked;
 * - binding: `name = <function>` (a declarator, assignment, object pair or class field): a function
 *   unit named after `name` when the `value` field is a function, a class unit when it is a class;
 * - container: walked into for nested units (bodies, blocks, control flow, namespaces);
 * - wrapper: walked into; the unit directly inside starts where the wrapper starts (decorators, export);
 * - group: like wrapper, but only when the unit is its only named child (`const f = () => {}`, Go `type T struct`);
 * - root: its children count as top level (the file, C preprocessor conditionals);
 * - prefix: a sibling before a declaration that belongs to it (Rust attributes, TS method decorators);
 * - comment: skipped without ending a run of prefixes.
 */
export type Rule =
  | { role: 'def'; kind: UnitKind | ((node: Node) => UnitKind | null); name?: (node: Node) => Node | null }
  | { role: 'binding'; name: string; value: string; kind: 'function' | 'method' }
  | { role: 'container' | 'wrapper' | 'group' | 'root' | 'prefix' | 'comment' };

export interface LanguageSpec {
  /** The grammar file: @vscode/tree-sitter-wasm/wasm/tree-sitter-<grammar>.wasm */
  grammar: string;
  /** File extensions (lower case, no dot) and whole file names that use this grammar. */
  extensions: string[];
  rules: Record<string, Rule>;
  /** Value node types of a binding that make it a function unit. */
  functionValues?: string[];
  /** Value node types of a binding that make it a class unit. */
  classValues?: string[];
  /** A Python docstring right after the signature belongs to the head. */
  docstrings?: boolean;
}

/** Text of a node. Indices are UTF-16 offsets into the parsed string (web-tree-sitter parses UTF-16). */
export function textOf(node: Node, text: string): string {
  return text.slice(node.startIndex, node.endIndex);
}

const def = (kind: UnitKind | ((node: Node) => UnitKind | null), name?: (node: Node) => Node | null): Rule => ({ role: 'def', kind, name });
const CONTAINER: Rule = { role: 'container' };
const WRAPPER: Rule = { role: 'wrapper' };
const GROUP: Rule = { role: 'group' };
const ROOT: Rule = { role: 'root' };
const PREFIX: Rule = { role: 'prefix' };
const COMMENT: Rule = { role: 'comment' };
const all = (rule: Rule, ...types: string[]): Record<string, Rule> => Object.fromEntries(types.map((t) => [t, rule]));

/** C/C++ declarators nest (`*f(int)`, `Foo::bar`): follow `declarator` fields down to the name. */
function declaratorName(node: Node): Node | null {
  let d = node.childForFieldName('declarator');
  for (let depth = 0; d && depth < 8; depth++) {
    const inner = d.childForFieldName('declarator');
    if (!inner) return d;
    d = inner;
  }
  return null;
}

/** A C/C++ struct/class/union/enum with a body is a unit; `typedef struct {…} Name;` takes the typedef's name. */
function specifierKind(node: Node): UnitKind | null {
  return node.childForFieldName('body') ? 'class' : null;
}
function specifierName(node: Node): Node | null {
  const name = node.childForFieldName('name');
  if (name) return name;
  const parent = node.parent;
  return parent?.type === 'type_definition' ? declaratorName(parent) : null;
}

/** Rust `impl<T> Trait for Foo<T>` is named after the type it implements: Foo. */
function implName(node: Node): Node | null {
  const type = node.childForFieldName('type');
  return type?.type === 'generic_type' ? type.childForFieldName('type') : type;
}

/** Go `type T struct{…}` is a class, `type I interface{…}` an interface, anything else a type. */
function goTypeKind(node: Node): UnitKind {
  const type = node.childForFieldName('type')?.type;
  return type === 'struct_type' ? 'class' : type === 'interface_type' ? 'interface' : 'type';
}

const JS_COMMON: Record<string, Rule> = {
  program: ROOT,
  function_declaration: def('function'),
  generator_function_declaration: def('function'),
  class_declaration: def('class'),
  method_definition: def('method'),
  variable_declarator: { role: 'binding', name: 'name', value: 'value', kind: 'function' },
  assignment_expression: { role: 'binding', name: 'left', value: 'right', kind: 'function' },
  pair: { role: 'binding', name: 'key', value: 'value', kind: 'method' },
  ...all(GROUP, 'lexical_declaration', 'variable_declaration', 'expression_statement'),
  ...all(WRAPPER, 'export_statement'),
  ...all(CONTAINER, 'statement_block', 'class_body', 'object', 'if_statement', 'else_clause', 'try_statement',
    'catch_clause', 'finally_clause', 'for_statement', 'for_in_statement', 'while_statement', 'do_statement', 'labeled_statement'),
  decorator: PREFIX,
  comment: COMMENT,
};
const JS_FUNCTION_VALUES = ['function_expression', 'function', 'arrow_function', 'generator_function'];

const TS_COMMON: Record<string, Rule> = {
  ...JS_COMMON,
  abstract_class_declaration: def('class'),
  interface_declaration: def('interface'),
  type_alias_declaration: def('type'),
  enum_declaration: def('class'),
  public_field_definition: { role: 'binding', name: 'name', value: 'value', kind: 'method' },
  ...all(WRAPPER, 'export_statement', 'ambient_declaration'),
  ...all(CONTAINER, 'internal_module', 'module'),
};

export const LANGUAGES: LanguageSpec[] = [
  {
    grammar: 'python',
    extensions: ['py', 'pyi', 'pyw'],
    docstrings: true,
    rules: {
      module: ROOT,
      function_definition: def('function'),
      class_definition: def('class'),
      decorated_definition: WRAPPER,
      ...all(CONTAINER, 'block', 'if_statement', 'elif_clause', 'else_clause', 'try_statement', 'except_clause',
        'except_group_clause', 'finally_clause', 'with_statement', 'for_statement', 'while_statement'),
      comment: COMMENT,
    },
  },
  { grammar: 'typescript', extensions: ['ts', 'mts', 'cts'], rules: TS_COMMON, functionValues: JS_FUNCTION_VALUES, classValues: ['class'] },
  { grammar: 'tsx', extensions: ['tsx'], rules: TS_COMMON, functionValues: JS_FUNCTION_VALUES, classValues: ['class'] },
  {
    grammar: 'javascript',
    extensions: ['js', 'mjs', 'cjs', 'jsx'],
    rules: { ...JS_COMMON, field_definition: { role: 'binding', name: 'property', value: 'value', kind: 'method' } },
    functionValues: JS_FUNCTION_VALUES,
    classValues: ['class'],
  },
  {
    grammar: 'go',
    extensions: ['go'],
    rules: {
      source_file: ROOT,
      function_declaration: def('function'),
      method_declaration: def('method'),
      type_spec: def(goTypeKind),
      type_alias: def('type'),
      type_declaration: GROUP,
      comment: COMMENT,
    },
  },
  {
    grammar: 'rust',
    extensions: ['rs'],
    rules: {
      source_file: ROOT,
      function_item: def('function'),
      ...all(def('class'), 'struct_item', 'enum_item', 'union_item'),
      impl_item: def('class', implName),
      trait_item: def('interface'),
      type_item: def('type'),
      macro_definition: def('function'),
      ...all(CONTAINER, 'declaration_list', 'mod_item', 'foreign_mod_item'),
      attribute_item: PREFIX,
      ...all(COMMENT, 'line_comment', 'block_comment'),
    },
  },
  {
    grammar: 'java',
    extensions: ['java'],
    rules: {
      program: ROOT,
      ...all(def('class'), 'class_declaration', 'enum_declaration', 'record_declaration'),
      ...all(def('interface'), 'interface_declaration', 'annotation_type_declaration'),
      ...all(def('method'), 'method_declaration', 'constructor_declaration', 'compact_constructor_declaration'),
      ...all(CONTAINER, 'class_body', 'interface_body', 'enum_body', 'enum_body_declarations', 'annotation_type_body'),
      ...all(COMMENT, 'line_comment', 'block_comment'),
    },
  },
  {
    // The C++ grammar parses C as well.
    grammar: 'cpp',
    extensions: ['c', 'h', 'cc', 'cpp', 'cxx', 'c++', 'hpp', 'hh', 'hxx', 'h++', 'inl', 'ipp'],
    rules: {
      ...all(ROOT, 'translation_unit', 'preproc_if', 'preproc_ifdef', 'preproc_else', 'preproc_elif', 'preproc_elifdef'),
      function_definition: def('function', declaratorName),
      ...all(def(specifierKind, specifierName), 'class_specifier', 'struct_specifier', 'union_specifier', 'enum_specifier'),
      alias_declaration: def('type'),
      template_declaration: WRAPPER,
      ...all(GROUP, 'declaration', 'type_definition'),
      ...all(CONTAINER, 'field_declaration_list', 'declaration_list', 'namespace_definition', 'linkage_specification'),
      comment: COMMENT,
    },
  },
  {
    grammar: 'c-sharp',
    extensions: ['cs', 'csx'],
    rules: {
      compilation_unit: ROOT,
      ...all(def('class'), 'class_declaration', 'struct_declaration', 'record_declaration', 'enum_declaration'),
      interface_declaration: def('interface'),
      ...all(def('method'), 'method_declaration', 'constructor_declaration', 'destructor_declaration',
        'operator_declaration', 'conversion_operator_declaration'),
      local_function_statement: def('function'),
      delegate_declaration: def('type'),
      ...all(CONTAINER, 'namespace_declaration', 'file_scoped_namespace_declaration', 'declaration_list', 'block'),
      comment: COMMENT,
    },
  },
  {
    grammar: 'ruby',
    extensions: ['rb', 'rake', 'gemspec', 'ru', 'Rakefile', 'Gemfile'],
    rules: {
      program: ROOT,
      method: def('function'),
      singleton_method: def('method'),
      ...all(def('class'), 'class', 'module'),
      ...all(CONTAINER, 'body_statement', 'singleton_class'),
      comment: COMMENT,
    },
  },
  {
    grammar: 'php',
    extensions: ['php', 'phtml'],
    rules: {
      program: ROOT,
      function_definition: def('function'),
      method_declaration: def('method'),
      ...all(def('class'), 'class_declaration', 'trait_declaration', 'enum_declaration'),
      interface_declaration: def('interface'),
      ...all(CONTAINER, 'declaration_list', 'namespace_definition', 'compound_statement'),
      comment: COMMENT,
    },
  },
  {
    grammar: 'bash',
    extensions: ['sh', 'bash'],
    rules: { program: ROOT, function_definition: def('function'), comment: COMMENT },
  },
];
