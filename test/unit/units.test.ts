// Units (src/core/units.ts): real code per language through tree-sitter, Markdown sections, chat
// sessions and turns, the indentation fallback, and incremental reparsing that matches a fresh parse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  documentUnits, editBetween, loadedGrammars, loadGrammars, MAX_PARSE_CHARS, UnitParser, type Unit,
} from '../../src/core/units';
import { LexicalRuntime } from '../../src/core/lexicalRuntime';
import { Tree } from '../../src/core/tree';

/** One line per unit: `kind name start-end line head parent`, easy to read in a failing diff. */
function brief(units: Unit[]): string[] {
  return units.map((u) => `${u.kind} ${u.name} ${u.start}-${u.end} l${u.line} h${u.headEnd} p${u.parent}`);
}

/** The contract every result keeps, whatever the input. */
function checkShape(units: Unit[], text: string, where: string): void {
  const lines = text.split('\n').length;
  units.forEach((u, i) => {
    const at = `${where}: unit ${i} ${JSON.stringify(u)}`;
    assert.ok(u.start <= u.line && u.line <= u.end, `${at}: start <= line <= end`);
    assert.ok(u.start <= u.headEnd && u.headEnd <= u.end, `${at}: start <= headEnd <= end`);
    assert.ok(u.start >= 0 && u.end < lines, `${at}: inside the document`);
    assert.ok(!u.name.includes('\n'), `${at}: one-line name`);
    if (i > 0) assert.ok(units[i - 1]!.start <= u.start, `${at}: sorted by start`);
    assert.ok(u.parent >= -1 && u.parent < i, `${at}: parent before child`);
    if (u.parent >= 0) {
      const p = units[u.parent]!;
      assert.ok(p.start <= u.start && u.end <= p.end, `${at}: inside its parent`);
    }
  });
}

/** Every non-blank line lies inside a top-level unit (what the fallback promises). */
function checkCoverage(units: Unit[], text: string, where: string): void {
  const top = units.filter((u) => u.parent === -1);
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    assert.ok(top.some((u) => u.start <= i && i <= u.end), `${where}: line ${i} ${JSON.stringify(line.slice(0, 40))} is in no unit`);
  });
}

const PYTHON = `"""Module docstring."""
import os

CONFIG = {
    'a': 1,
}


@dataclass
@other(x=1)
class Point(Base):
    """A point."""

    x: int = 0

    def __init__(self, x,
                 y):
        """Make one.

        More.
        """
        self.x = x

        def helper():
            return 1

    @property
    def norm(self): return 1

    async def fetch(self):
        pass


if TYPE_CHECKING:
    def typed() -> None:
        ...


def broken(:
    pass


if __name__ == '__main__':
    main()
`;

test('before loadGrammars() resolves, code falls back to blocks', () => {
  assert.deepEqual(loadedGrammars(), []);
  const units = documentUnits('a.py', PYTHON, 'file');
  assert.ok(units.length > 0 && units.every((u) => u.kind === 'block'), brief(units).join('\n'));
  assert.deepEqual(brief(units.filter((u) => u.parent === -1)).slice(0, 3), ['block  0-1 l0 h0 p-1', 'block CONFIG 3-5 l3 h3 p-1', 'block  8-30 l8 h8 p-1']);
  checkCoverage(units, PYTHON, 'a.py');
});

test('loadGrammars(paths) loads the grammars of those paths\' languages only', async () => {
  await Promise.all([loadGrammars(['src/a.py', 'b.PYI', 'notes.txt', 'README.md']), loadGrammars(['c.py'])]);
  assert.deepEqual(loadedGrammars(), ['python']);
  assert.ok(documentUnits('a.py', PYTHON, 'file').some((u) => u.kind === 'class'), 'Python parses');
});

test('loadGrammars() is idempotent and loads every grammar the module maps', async () => {
  await Promise.all([loadGrammars(), loadGrammars()]);
  await loadGrammars();
  assert.deepEqual(loadedGrammars(), ['bash', 'c-sharp', 'cpp', 'go', 'java', 'javascript', 'php', 'python', 'ruby', 'rust', 'tsx', 'typescript']);
});

test('Python: decorators, docstrings in the head, methods, nested functions, multi-line statements, a syntax error', () => {
  const units = documentUnits('pkg/point.py', PYTHON, 'file');
  assert.deepEqual(brief(units), [
    'statement CONFIG 3-5 l3 h3 p-1',
    'class Point 8-30 l10 h11 p-1', // decorators start it; the docstring is part of the head
    'method __init__ 15-24 l15 h20 p1', // signature over two lines, then a three-line docstring
    'function helper 23-24 l23 h23 p2', // a function inside a method is a function
    'method norm 26-27 l27 h27 p1',
    'method fetch 29-30 l29 h29 p1',
    'statement  33-35 l33 h33 p-1', // if TYPE_CHECKING:
    'function typed 34-35 l34 h34 p6',
    'function broken 38-39 l38 h38 p-1', // `def broken(:` has an ERROR inside; the unit is kept
    'statement  42-43 l42 h42 p-1',
  ]);
  checkShape(units, PYTHON, 'point.py');
});

test('Python: the standard library email/generator.py, with its real line numbers', (t) => {
  const path = '/usr/lib/python3.11/email/generator.py';
  if (!existsSync(path)) return t.skip(`${path} is not installed`);
  const text = readFileSync(path, 'utf8');
  const units = documentUnits(path, text, 'file');
  checkShape(units, text, path);
  const lines = text.split('\n');
  assert.equal(units.filter((u) => u.kind !== 'statement').length, 28);
  const byName = (name: string, parentName?: string) => units.find((u) => u.name === name && (parentName === undefined || units[u.parent]?.name === parentName))!;
  assert.deepEqual(brief([byName('Generator')]), ['class Generator 27-403 l27 h32 p-1']);
  assert.deepEqual(brief([byName('flatten')]), ['method flatten 73-120 l73 h89 p0']);
  assert.equal(lines[73], '    def flatten(self, msg, unixfrom=False, linesep=None):');
  assert.match(lines[89]!, /"""$/, 'the head ends with the docstring');
  const boundary = byName('_make_boundary');
  assert.deepEqual([boundary.kind, boundary.start, boundary.line, boundary.end], ['method', 383, 384, 399]);
  assert.equal(lines[383], '    @classmethod');
  const bytes = byName('BytesGenerator');
  assert.deepEqual([bytes.start, bytes.end, bytes.parent], [406, 453, -1]);
  assert.equal(units[byName('_encode', 'BytesGenerator').parent], bytes);
  assert.deepEqual(units.filter((u) => u.parent === units.indexOf(bytes)).map((u) => u.name),
    ['write', '_new_buffer', '_encode', '_write_headers', '_handle_text', '_compile_re']);
  for (const u of units) {
    if (u.kind === 'method' || u.kind === 'function') assert.match(lines[u.line]!, new RegExp(`def ${u.name}\\(`), u.name);
  }
});

test('TypeScript (ky-style): arrow functions bound to const, interfaces, types, decorators, private fields, enums', () => {
  const text = `import type { Options } from './types';

/** Creates the client. */
export const create = (defaults?: Options): KyInstance => {
	const ky = (input: Input) => new Ky(input);
	return ky;
};

export interface KyInstance {
	get: (url: string) => Promise<Response>;
}

export type Hook = (
	request: Request,
) => void;

export abstract class Ky {
	@memo()
	static create(input: Input, options: Options): Ky {
		return new Ky(input, options);
	}

	protected abstract run(): void;

	#retry = async (fn: () => Promise<void>) => {
		await fn();
	};
}

export enum Level {
	Low,
	High,
}

export default create;
`;
  const units = documentUnits('source/index.ts', text, 'file');
  assert.deepEqual(brief(units), [
    'function create 3-6 l3 h3 p-1', // the JSDoc above is not part of it
    'function ky 4-4 l4 h4 p0',
    'interface KyInstance 8-10 l8 h8 p-1',
    'type Hook 12-14 l12 h12 p-1',
    'class Ky 16-27 l16 h16 p-1',
    'method create 17-20 l18 h18 p4', // the decorator line starts it
    'method #retry 24-26 l24 h24 p4',
    'class Level 29-32 l29 h29 p-1',
  ]);
  checkShape(units, text, 'index.ts');
});

test('TSX and JSX: components as functions and as arrow functions', () => {
  const text = `import React from 'react';

export function Button({ label }: Props) {
  return <button className="b">{label}</button>;
}

export const App = () => (
  <div>
    <Button label="x" />
  </div>
);
`;
  const expected = ['function Button 2-4 l2 h2 p-1', 'function App 6-10 l6 h6 p-1'];
  assert.deepEqual(brief(documentUnits('src/App.tsx', text, 'file')), expected);
  const jsx = text.replace(': Props', '');
  assert.deepEqual(brief(documentUnits('src/App.jsx', jsx, 'file')), expected);
});

test('JavaScript (express-style): functions assigned to members, module.exports objects, class fields', () => {
  const text = `'use strict';

var app = exports = module.exports = {};

app.init = function init() {
  this.cache = {};
};

res.send = function send(body) {
  var chunk = body;
  return this;
};

exports.compile = function(fn) {
  return fn;
};

module.exports = {
  parse(str) {
    return str;
  },
  format: function (obj) {
    return '';
  },
};

class Router extends Base {
  handle = (req) => {
    return req;
  };
  static of() {}
}

res.contentType =
res.type = function contentType(type) {
  return this;
};
`;
  const units = documentUnits('lib/response.js', text, 'file');
  assert.deepEqual(brief(units), [
    'function app.init 4-6 l4 h4 p-1',
    'function res.send 8-11 l8 h8 p-1',
    'function exports.compile 13-15 l13 h13 p-1',
    'statement module.exports 17-24 l17 h17 p-1',
    'method parse 18-20 l18 h18 p3',
    'method format 21-23 l21 h21 p3',
    'class Router 26-31 l26 h26 p-1',
    'method handle 27-29 l27 h27 p6',
    'method of 30-30 l30 h30 p6',
    'function res.contentType 33-36 l33 h34 p-1', // a chain of assignments is named after its first target
  ]);
  assert.deepEqual(brief(documentUnits('lib/response.mjs', text, 'file')), brief(units));
});

test('Go, Rust and Java: methods, structs, interfaces, impl blocks, attributes and annotations', () => {
  const go = `package main

type Server struct {
	Addr string
}

type Handler interface {
	Serve()
}

type (
	ID   int
	Pair struct{ A, B int }
)

// Serve serves.
func (s *Server) Serve() {
}

func main() {
}
`;
  assert.deepEqual(brief(documentUnits('cmd/main.go', go, 'file')), [
    'class Server 2-4 l2 h2 p-1',
    'interface Handler 6-8 l6 h6 p-1',
    'statement  10-13 l10 h10 p-1',
    'type ID 11-11 l11 h11 p2',
    'class Pair 12-12 l12 h12 p2',
    'method Serve 16-17 l16 h16 p-1',
    'function main 19-20 l19 h19 p-1',
  ]);
  const rust = `#[derive(Debug, Clone)]
/// A point.
pub struct Point {
    x: i32,
}

impl<T: Copy> fmt::Display for Wrapper<T> {
    fn fmt(&self, f: &mut fmt::Formatter)
        -> fmt::Result {
        Ok(())
    }
}

pub trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> String { String::new() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn it_works() {}
}
`;
  assert.deepEqual(brief(documentUnits('src/lib.rs', rust, 'file')), [
    'class Point 0-4 l2 h2 p-1', // the attribute starts it, the doc comment is inside
    'class Wrapper 6-11 l6 h6 p-1', // an impl block is named after its type
    'method fmt 7-10 l7 h8 p1',
    'interface Shape 13-16 l13 h13 p-1',
    'method name 15-15 l15 h15 p3',
    'statement tests 18-22 l19 h19 p-1', // attributes start statements too
    'function it_works 20-21 l21 h21 p5',
  ]);
  const java = `package demo;

@Service
public class Greeter<T> extends Base {
    @Override
    public String toString() {
        return "";
    }

    Greeter() {}

    interface Listener { void on(); }

    enum Mode { A, B }
}
`;
  assert.deepEqual(brief(documentUnits('src/Greeter.java', java, 'file')), [
    'class Greeter 2-14 l3 h3 p-1',
    'method toString 4-7 l5 h5 p0',
    'method Greeter 9-9 l9 h9 p0',
    'interface Listener 11-11 l11 h11 p0',
    'method on 11-11 l11 h11 p3', // a declaration without body is a unit in Java
    'class Mode 13-13 l13 h13 p0',
  ]);
});

test('C, C++ and C#: declarators, typedef structs, templates, namespaces, include guards, attributes', () => {
  const c = `#include <stdio.h>

/* Adds. */
static int
add(int a, int b)
{
    return a + b;
}

struct point {
    int x;
};

typedef struct {
    int w;
} size;

static const char *names[] = {
    "a",
};
`;
  assert.deepEqual(brief(documentUnits('src/add.c', c, 'file')), [
    'function add 3-7 l4 h4 p-1', // the name is on the line after the return type
    'class point 9-11 l9 h9 p-1',
    'class size 13-15 l15 h15 p-1', // an anonymous struct takes its typedef's name
    'statement names 17-19 l17 h17 p-1',
  ]);
  const cpp = `#ifndef FOO_H
#define FOO_H
namespace app {
template <typename T>
class Foo : public Bar {
 public:
  void run() {}
  ~Foo();
};

int Foo::size(int a) {
  return a;
}
}  // namespace app
#endif
`;
  assert.deepEqual(brief(documentUnits('include/foo.hpp', cpp, 'file')), [
    'statement app 2-13 l2 h2 p-1', // the include guard is transparent; the namespace is a statement
    'class Foo 3-8 l4 h4 p0', // the template line starts it
    'method run 6-6 l6 h6 p1',
    'function Foo::size 10-12 l10 h10 p0',
  ]);
  const cs = `namespace Demo;

[Serializable]
public class Account
{
    public void Deposit(decimal amount)
    {
        int Check() => 1;
    }

    public Account() { }
}

public interface IStore { }

public record Entry(int Id);
`;
  assert.deepEqual(brief(documentUnits('Account.cs', cs, 'file')), [
    'class Account 2-11 l3 h3 p-1',
    'method Deposit 5-8 l5 h5 p0',
    'function Check 7-7 l7 h7 p1',
    'method Account 10-10 l10 h10 p0',
    'interface IStore 13-13 l13 h13 p-1',
    'class Entry 15-15 l15 h15 p-1',
  ]);
});

test('Ruby, PHP and bash', () => {
  const ruby = `module Shop
  class Cart < Base
    def add(item)
      items << item
    end

    def self.empty
      new
    end
  end
end

def helper
end
`;
  assert.deepEqual(brief(documentUnits('lib/cart.rb', ruby, 'file')), [
    'class Shop 0-10 l0 h0 p-1',
    'class Cart 1-9 l1 h1 p0',
    'method add 2-4 l2 h2 p1',
    'method empty 6-8 l6 h6 p1',
    'function helper 12-13 l12 h12 p-1',
  ]);
  assert.deepEqual(brief(documentUnits('Rakefile', 'def build\nend\n', 'file')), ['function build 0-1 l0 h0 p-1']);
  const php = `<?php
namespace App;

#[Attribute]
class Cart extends Base {
    public function add($item) {
        return $item;
    }
}

interface Store {}

function helper() {
}
`;
  assert.deepEqual(brief(documentUnits('src/Cart.php', php, 'file')), [
    'class Cart 3-8 l4 h4 p-1',
    'method add 5-7 l5 h5 p0',
    'interface Store 10-10 l10 h10 p-1',
    'function helper 12-13 l12 h12 p-1',
  ]);
  const sh = `#!/bin/sh
build() {
  make
}

function clean {
  rm -rf out
}
`;
  assert.deepEqual(brief(documentUnits('scripts/build.sh', sh, 'file')), ['function build 1-3 l1 h1 p-1', 'function clean 5-7 l5 h5 p-1']);
});

test('Markdown: ATX and setext headings nested by level; # in code fences and front matter is not a heading', () => {
  const text = `---
title: Notes
# not a heading
---
# Guide

Intro.
## Install
\`\`\`sh
# a shell comment
\`\`\`
~~~
## still code
~~~
Usage
-----
### Flags ###

- item
---

# Appendix
Closing words
=============
`;
  const units = documentUnits('docs/guide.md', text, 'file');
  assert.deepEqual(brief(units), [
    'section Guide 4-19 l4 h4 p-1',
    'section Install 7-13 l7 h7 p0',
    'section Usage 14-19 l14 h15 p0', // setext: the underline is part of the head
    'section Flags 16-19 l16 h16 p2', // closing #s are not part of the name; `---` after a list item is a rule
    'section Appendix 21-21 l21 h21 p-1',
    'section Closing words 22-23 l22 h23 p-1',
  ]);
  assert.deepEqual(brief(documentUnits('README.mdx', '## Only\ntext\n', 'file')), ['section Only 0-1 l0 h0 p-1']);
  // Without any heading, paragraphs.
  assert.deepEqual(brief(documentUnits('NOTES.md', 'One.\nTwo.\n\nThree.\n', 'file')), ['block  0-1 l0 h0 p-1', 'block  3-3 l3 h3 p-1']);
  checkShape(units, text, 'guide.md');
});

test('chat transcripts: sessions and User/Assistant turns; a turn runs to the next turn', () => {
  const text = `## Session 2026-01-02
User: how do I build?
Assistant: Run the build:

    npm run build

Note: this is part of the answer.

User: thanks
Assistant: You're welcome.

## Session 2026-01-03
User: again
`;
  const units = documentUnits('chat:workspace', text, 'chat');
  assert.deepEqual(brief(units), [
    'session Session 2026-01-02 0-9 l0 h0 p-1',
    'turn User 1-1 l1 h1 p0',
    'turn Assistant 2-6 l2 h2 p0', // "Note:" is not a speaker in a chat transcript
    'turn User 8-8 l8 h8 p0',
    'turn Assistant 9-9 l9 h9 p0',
    'session Session 2026-01-03 11-12 l11 h11 p-1',
    'turn User 12-12 l12 h12 p5',
  ]);
  assert.deepEqual(brief(documentUnits('notes:memory', 'User: remember the port is 8080\n', 'notes')), ['turn User 0-0 l0 h0 p-1']);
});

test('LoCoMo-style conversations get sessions and turns, as a file without grammar and as a chat document', () => {
  const text = `# Conversation between Caroline and Melanie
## Session 1 (1:56 pm on 8 May, 2023)
D1:1 Caroline: Hey Mel! Good to see you!
D1:2 Melanie: Hi Caroline, how have you been?
D1:3 Caroline: I went to a LGBTQ support group yesterday. [shares an image: a poster]
## Session 2 (1:14 pm on 25 May, 2023)
D2:1 Melanie: I ran a charity race for mental health last Saturday.
`;
  const expected = [
    'session Session 1 (1:56 pm on 8 May, 2023) 1-4 l1 h1 p-1',
    'turn Caroline 2-2 l2 h2 p0',
    'turn Melanie 3-3 l3 h3 p0',
    'turn Caroline 4-4 l4 h4 p0',
    'session Session 2 (1:14 pm on 25 May, 2023) 5-6 l5 h5 p-1',
    'turn Melanie 6-6 l6 h6 p4',
  ];
  assert.deepEqual(brief(documentUnits('locomo/conv-26.txt', text, 'file')), expected);
  assert.deepEqual(brief(documentUnits('locomo:conv-26', text, 'chat')), expected);
  // Kept as Markdown, the same transcript still gets its turns; a Markdown document of prose keeps its sections.
  assert.deepEqual(brief(documentUnits('notes/conv-26.md', text, 'file')), expected);
  assert.ok(documentUnits('README.md', '# Shop\n\nNote: prices are in EUR.\nThe rest is prose.\nMore prose here.\n', 'file').every((u) => u.kind === 'section'));
  // Prose that merely has a few `Word: text` lines stays prose.
  const prose = 'Some notes about the release.\nIt went well overall.\nTodo: write the changelog\nMore text here.\n';
  assert.ok(documentUnits('notes.txt', prose, 'file').every((u) => u.kind === 'block'));
});

test('fallback: unknown languages get nested blocks by indentation and blank lines, named when cheap', () => {
  const kotlin = `package demo

fun main() {
    val x = 1

    println(x)
}

class Greeter(val name: String) {
    fun greet() =
        "hi"
}
`;
  const units = documentUnits('src/Main.kt', kotlin, 'file');
  assert.deepEqual(brief(units), [
    'block  0-0 l0 h0 p-1',
    'block main 2-6 l2 h2 p-1', // the blank line inside the indented body does not end it
    'block  3-3 l3 h3 p1', // inside it, blank lines separate blocks of the same indentation
    'block  5-5 l5 h5 p1',
    'block Greeter 8-11 l8 h8 p-1',
    'block greet 9-10 l9 h9 p4',
  ]);
  checkShape(units, kotlin, 'Main.kt');
  checkCoverage(units, kotlin, 'Main.kt');
  const yaml = 'services:\n  web:\n    image: nginx\n\n    ports:\n      - 80\nvolumes: {}\n';
  assert.deepEqual(brief(documentUnits('compose.yaml', yaml, 'file')).filter((b) => b.endsWith('p-1')), ['block services 0-6 l0 h0 p-1']);
});

test('fallback never fails: binary-ish bytes, garbage, CRLF, a document too large to parse, broken code', () => {
  const random = fc.sample(fc.string({ unit: 'binary', maxLength: 4000 }), { seed: 7, numRuns: 30 });
  const inputs: [string, string][] = [
    ['blob.bin', '\u0000\u0001ELF\u0002\n\n\u0000\u00ff\ufffd\t\t  \r\n\u0000x'],
    ['bad.py', '\u0000\u0000def f():\n  pass\n'], // NUL bytes: never handed to the parser
    ['crlf.txt', 'a\r\n  b\r\n\r\nc\r\n'],
    ['empty.ts', ''],
    ['blank.md', '\n\n\n'],
    ['deep.txt', Array.from({ length: 300 }, (_, i) => ' '.repeat(i) + 'x').join('\n')],
    ...random.map((s, i): [string, string] => [`random${i}.${['py', 'ts', 'go', 'md', 'zz'][i % 5]}`, s]),
  ];
  for (const [path, text] of inputs) {
    const units = documentUnits(path, text, 'file');
    checkShape(units, text, path);
    // Coverage is the fallback's promise; a parsed file (or one with headings) may have lines outside every unit.
    if (!/\.(py|ts|go|md)$/.test(path) || (units.length > 0 && units.every((u) => u.kind === 'block'))) checkCoverage(units, text, path);
  }
  assert.deepEqual(brief(documentUnits('crlf.txt', 'a\r\n  b\r\n\r\nc\r\n', 'file')), ['block  0-1 l0 h0 p-1', 'block  3-3 l3 h3 p-1']);
  // Too large to parse: blocks, not functions.
  const fn = 'def f():\n    return 1\n\n';
  const big = fn.repeat(Math.ceil(MAX_PARSE_CHARS / fn.length) + 10);
  assert.ok(big.length > MAX_PARSE_CHARS);
  const bigUnits = documentUnits('big.py', big, 'file');
  assert.ok(bigUnits.length > 1000 && bigUnits.every((u) => u.kind === 'block'));
  // Code that does not parse at all keeps the coverage of the fallback.
  const garbage = ')))) ]]] }}} def def class ((\n  :: ;; @@ !!\n\n]]]]\n';
  const units = documentUnits('junk.py', garbage, 'file');
  assert.deepEqual(brief(units), ['block  0-1 l0 h0 p-1', 'block  3-3 l3 h3 p-1']); // one indented line is no child block
  // A syntax error in one function keeps the units around it.
  const ts = 'function ok() {\n  return 1;\n}\n\nfunction bad( {\n\nclass Later {\n  m() {}\n}\n';
  const names = documentUnits('x.ts', ts, 'file').map((u) => `${u.kind} ${u.name}`);
  assert.ok(names.includes('function ok') && names.includes('method m'), names.join(', '));
});

test('a parse that runs past its time limit falls back, and the parser is whole again for the next one', () => {
  const text = 'def f():\n    pass\n\n'.repeat(3000);
  const real = performance.now;
  let clock = real.call(performance);
  performance.now = () => (clock += 1000); // every look at the clock finds another second gone
  let units: Unit[];
  try {
    units = documentUnits('slow.py', text, 'file');
  } finally {
    performance.now = real;
  }
  assert.ok(units.length === 3000 && units.every((u) => u.kind === 'block'), 'the fallback, not a partial tree');
  const parsed = documentUnits('slow.py', text, 'file');
  assert.deepEqual(brief([parsed[0]!, parsed[2999]!]), ['function f 0-1 l0 h0 p-1', 'function f 8997-8998 l8997 h8997 p-1']);
});

test('editBetween finds the changed span in UTF-16 units, rows and columns', () => {
  assert.deepEqual(editBetween('ab\ncd\nef', 'ab\ncXd\nef'), {
    startIndex: 4, oldEndIndex: 4, newEndIndex: 5,
    startPosition: { row: 1, column: 1 }, oldEndPosition: { row: 1, column: 1 }, newEndPosition: { row: 1, column: 2 },
  });
  const e = editBetween('x😀y', 'x😃y'); // same high surrogate: the edit must not split the pair
  assert.deepEqual([e.startIndex, e.oldEndIndex, e.newEndIndex], [1, 3, 3]);
  assert.deepEqual([editBetween('same', 'same').startIndex, editBetween('same', 'same').oldEndIndex], [4, 4]);
});

const EDIT_SOURCES: [string, string][] = [
  ['a.py', PYTHON],
  ['b.ts', `export class A {\n  @dec()\n  m(x: number) {\n    return x;\n  }\n}\nexport const f = () => {\n  return 1;\n};\ninterface I { a: 1 }\n`],
  ['c.go', 'package p\n\ntype S struct {\n\tA int\n}\n\nfunc (s *S) M() {\n}\n\nfunc F() {\n}\n'],
];
const SNIPPETS = ['\n', '\n\n', 'def g(x):\n    return x\n', '    ', '}', '{', '(', 'class Z:\n', 'function q() {}\n', '"""', '// é 😀\n', 'x = 1\n', '@d\n', 'func H() {}\n'];

test('UnitParser: incremental reparsing after random edits equals a fresh parse (seeded)', () => {
  const parser = new UnitParser();
  // Inserted text: a snippet, or a piece of the source itself (which is how broken code gets broken).
  const insert = fc.oneof(fc.constantFrom(...SNIPPETS), fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(80)));
  const edit = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), remove: fc.nat(40), insert });
  fc.assert(fc.property(fc.constantFrom(...EDIT_SOURCES), fc.array(edit, { minLength: 1, maxLength: 12 }), ([path, source], edits) => {
    const id = `doc-${path}`;
    parser.forget(id);
    let text = source;
    assert.deepEqual(parser.update(id, path, text, 'file'), documentUnits(path, text, 'file'));
    for (const { at, remove, insert } of edits) {
      const pos = Math.floor(at * text.length);
      const piece = typeof insert === 'string' ? insert : source.slice(Math.floor(insert[0] * source.length)).slice(0, insert[1]);
      text = text.slice(0, pos) + piece + text.slice(Math.min(text.length, pos + remove));
      assert.deepEqual(parser.update(id, path, text, 'file'), documentUnits(path, text, 'file'), `after editing at ${pos}`);
    }
  }), { seed: 20260103, numRuns: 150 });
  parser.dispose();
  assert.equal(parser.size, 0);
});

test('UnitParser keeps a bounded number of trees, forgets, and follows a document that changes language', () => {
  const parser = new UnitParser(2);
  for (const id of ['a', 'b', 'c']) parser.update(id, `${id}.py`, 'def f():\n    pass\n', 'file');
  assert.equal(parser.size, 2, 'the oldest tree was evicted');
  parser.forget('b');
  assert.equal(parser.size, 1);
  // Renamed from .py to .md: same id, other structure.
  assert.deepEqual(brief(parser.update('c', 'c.md', '# T\ndef f():\n', 'file')), ['section T 0-1 l0 h0 p-1']);
  assert.equal(parser.size, 0, 'no tree for a document without grammar');
  assert.deepEqual(brief(parser.update('c', 'c.py', 'def f():\n    pass\n', 'file')), ['function f 0-1 l0 h0 p-1']);
  assert.deepEqual(brief(parser.update('c', 'c.py', 'def f():\n    pass\n\ndef g():\n    pass\n', 'file')), ['function f 0-1 l0 h0 p-1', 'function g 3-4 l3 h3 p-1']);
  assert.deepEqual(parser.update('chat', 'chat:x', 'User: hi\n', 'chat').map((u) => u.kind), ['turn']);
  parser.dispose();
  assert.equal(parser.size, 0);
});

test('real sources keep the contract: the Python standard library email package and TypeScript in node_modules', (t) => {
  const files: string[] = [];
  const email = '/usr/lib/python3.11/email';
  if (existsSync(email)) files.push(...readdirSync(email).filter((f) => f.endsWith('.py')).map((f) => join(email, f)));
  const modules = join(__dirname, '..', '..', '..', 'node_modules');
  for (const dir of ['fast-check/lib', 'web-tree-sitter', 'lru-cache/dist/commonjs']) {
    const full = join(modules, dir);
    if (existsSync(full)) files.push(...readdirSync(full).filter((f) => /\.(js|cjs|d\.ts)$/.test(f)).map((f) => join(full, f)));
  }
  if (files.length === 0) return t.skip('no corpus on this machine');
  let functions = 0;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const units = documentUnits(file, text, 'file');
    checkShape(units, text, file);
    functions += units.filter((u) => u.kind === 'function' || u.kind === 'method').length;
  }
  assert.ok(functions > 100, `${functions} functions in ${files.length} files`);
});

test('the tree parses an edited document incrementally, with the units of a fresh parse, and forgets it when removed', async () => {
  const tree = new Tree(new LexicalRuntime('test'));
  const id = '/w/app.py';
  let text = PYTHON;
  await tree.ingest([{ id, text }]);
  assert.equal(tree.keptSyntaxTrees, 0, 'a first index keeps no syntax tree');
  const edits: [string, string][] = [['def ', 'def renamed_'], ['return', 'return None  #'], ['\n\n', '\n\nclass Added:\n    x = 1\n\n']];
  for (const [from, to] of edits) {
    text = text.replace(from, to);
    await tree.ingest([{ id, text }]);
    assert.equal(tree.keptSyntaxTrees, 1, 'the edited document keeps its syntax tree for the next edit');
    const doc = tree.documents.get(id)!;
    assert.deepEqual(brief(doc.units ?? []), brief(documentUnits(id, text, 'file')), `units after replacing ${JSON.stringify(from)}`);
  }
  tree.remove(id);
  assert.equal(tree.keptSyntaxTrees, 0, 'a removed document\'s syntax tree is freed');
});
