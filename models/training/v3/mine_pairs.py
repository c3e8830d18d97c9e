"""GistNet v3 corpus miner: (description, code) pairs from Debian Python packages, npm JSDoc and git history.

  /usr/bin/python3 models/training/v3/mine_pairs.py --out DIR [--smoke]

Reads the v3 section of models/training/manifest.json ("gistV3"): the Debian packages to mine (their files
are `dpkg -L <pkg>`, *.py under dist-packages), the npm packages (node_modules/<name>, every package except the
excluded ones), the git bundles (commit message -> changed hunk), and the held-out packages. Writes
DIR/pairs.jsonl, one object per pair:
  {"src": "deb"|"npm"|"git", "pkg": ..., "file": ..., "split": "train"|"heldout", "kind": ..., "q": text, "c": text}
and DIR/negs.jsonl: per file, extra code chunks of that file (hard negatives besides the file's other pairs):
  {"file": ..., "chunks": [text, ...]}
Queries = the documentation's first paragraph; code = the definition with its documentation removed
(CodeSearchNet style; the trainer keeps its first 32 o200k tokens).
Deterministic: files and packages are visited in sorted order; duplicates (same query and code) kept once.
Every Debian package of the manifest must be installed: a full run stops with the apt-get line that installs the
missing ones (scripts/train.mjs installs them first); --smoke mines only what is installed.
"""
import argparse
import ast
import hashlib
import json
import os
import random
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
ap = argparse.ArgumentParser()
ap.add_argument('--out', required=True)
ap.add_argument('--smoke', action='store_true')
ap.add_argument('--node-modules', default=os.path.join(ROOT, 'node_modules'))
ap.add_argument('--extra-node-modules', default=None, help='the npm packages of gistV3.npmExtra (fetch-npm.mjs), mined after every other package, all train')
args = ap.parse_args()
man = json.load(open(os.path.join(HERE, '..', 'manifest.json')))['gistV3']
os.makedirs(args.out, exist_ok=True)
EXCL = set(man['excludeEverywhere'])  # repository / package names never read (the test split)
HELD_DEB = set(man['heldOutDebian'])
HELD_NPM = set(man['heldOutNpm'])
CODE_LINES = 24
WORDS_MIN = 4

seen = set()
out_pairs = open(os.path.join(args.out, 'pairs.jsonl'), 'w')
out_negs = open(os.path.join(args.out, 'negs.jsonl'), 'w')
counts = {}


def first_par(doc):
    par = []
    for line in doc.strip().split('\n'):
        s = line.strip()
        if not s:
            if par:
                break
            continue
        if s.startswith('@') or s.startswith(':param') or s.startswith('Parameters') or s.startswith('Args:'):
            break
        par.append(s)
    text = ' '.join(par)
    text = re.sub(r'\s+', ' ', text).strip()
    return text[:400]


def emit(src, pkg, fname, split, kind, q, c):
    if len(q.split()) < WORDS_MIN or len(c.strip()) < 8:
        return False
    h = hashlib.sha1((q + '\0' + c).encode('utf-8', 'replace')).hexdigest()
    if h in seen:
        return False
    seen.add(h)
    out_pairs.write(json.dumps({'src': src, 'pkg': pkg, 'file': fname, 'split': split, 'kind': kind, 'q': q, 'c': c}) + '\n')
    key = (src, split)
    counts.setdefault(key, {}).setdefault(pkg, 0)
    counts[key][pkg] += 1
    return True


def chunks_of(lines, rng, n=6, size=8):
    out = []
    if len(lines) < size * 2:
        return out
    for _ in range(n):
        i = rng.randrange(0, len(lines) - size)
        t = '\n'.join(lines[i:i + size])
        if t.strip():
            out.append(t)
    return out


# ---- Python (ast) --------------------------------------------------------------------------------
def py_file(pkg, path, split, rng):
    try:
        text = open(path, encoding='utf-8').read()
        tree = ast.parse(text)
    except Exception:
        return 0
    lines = text.split('\n')
    n = 0
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if not node.body:
            continue
        d = node.body[0]
        if not (isinstance(d, ast.Expr) and isinstance(getattr(d, 'value', None), ast.Constant) and isinstance(d.value.value, str)):
            continue
        q = first_par(d.value.value)
        start = node.lineno - 1
        if getattr(node, 'decorator_list', None):
            start = min([start] + [x.lineno - 1 for x in node.decorator_list])
        ds, de = d.lineno - 1, d.end_lineno  # docstring lines [ds, de)
        end = node.end_lineno
        body = lines[start:ds] + lines[de:end]
        c = '\n'.join(body[:CODE_LINES])
        n += emit('deb', pkg, path, split, 'class' if isinstance(node, ast.ClassDef) else 'def', q, c)
    # comment pairs: a run of whole-line comments (>= WORDS_MIN words) -> the next code lines
    i = 0
    while i < len(lines):
        if lines[i].strip().startswith('#') and not lines[i].strip().startswith('#!'):
            j = i
            while j < len(lines) and lines[j].strip().startswith('#'):
                j += 1
            q = ' '.join(l.strip().lstrip('#').strip() for l in lines[i:j])
            q = re.sub(r'\s+', ' ', q)[:400]
            code = [l for l in lines[j:j + 12]]
            if len(q.split()) >= WORDS_MIN and code and code[0].strip():
                n += emit('deb', pkg, path, split, 'comment', q, '\n'.join(code))
            i = j
        else:
            i += 1
    out_negs.write(json.dumps({'file': path, 'chunks': chunks_of(lines, rng)}) + '\n')
    return n


def deb_files(pkg):
    r = subprocess.run(['dpkg', '-L', pkg], capture_output=True, text=True)
    if r.returncode != 0:
        print(f'mine: {pkg} not installed (apt-get install {pkg})', file=sys.stderr)
        return []
    fs = [f for f in r.stdout.split('\n') if f.endswith('.py') and '/dist-packages/' in f
          and '/tests/' not in f and '/test/' not in f and not os.path.basename(f).startswith('test_')]
    return sorted(f for f in fs if os.path.isfile(f) and not any(f'/{e}/' in f for e in EXCL))


# ---- npm JSDoc -----------------------------------------------------------------------------------
JSDOC = re.compile(r'/\*\*(?!\*)([\s\S]*?)\*/')


def js_file(pkg, path, split, rng):
    try:
        text = open(path, encoding='utf-8').read()
    except Exception:
        return 0
    if len(text) > 3_000_000:
        return 0
    lines = text.split('\n')
    if lines and max(len(l) for l in lines[:200]) > 1000:
        return 0  # minified
    n = 0
    for m in JSDOC.finditer(text):
        body = '\n'.join(re.sub(r'^\s*\*\s?', '', l) for l in m.group(1).split('\n'))
        q = first_par(body)
        q = re.sub(r'\{@link\s+([^}|]*)[^}]*\}', r'\1', q)
        after = text[m.end():]
        c = '\n'.join(after.lstrip('\n').split('\n')[:CODE_LINES])
        c = JSDOC.sub('', c)
        if not c.strip():
            continue
        n += emit('npm', pkg, path, split, 'jsdoc', q, c)
    out_negs.write(json.dumps({'file': path, 'chunks': chunks_of(lines, rng)}) + '\n')
    return n


def npm_packages(nm):
    pk = []
    for n in sorted(os.listdir(nm)):
        if n.startswith('.'):
            continue
        if n.startswith('@'):
            for m in sorted(os.listdir(os.path.join(nm, n))):
                pk.append(f'{n}/{m}')
        else:
            pk.append(n)
    return [p for p in pk if p not in EXCL and p.split('/')[-1] not in EXCL]


def npm_files(nm, pkg):
    out = []
    for dp, dn, fn in os.walk(os.path.join(nm, pkg)):
        dn[:] = sorted(d for d in dn if d not in EXCL and d not in ('test', 'tests', '__tests__'))
        if '/node_modules/' in dp[len(nm):]:  # nested copies are visited as their own packages? no: skip
            dn[:] = []
            continue
        for f in sorted(fn):
            if re.search(r'\.(js|mjs|cjs|ts|mts|cts)$', f) and not f.endswith('.min.js'):
                out.append(os.path.join(dp, f))
    return out


# ---- git bundles: commit message -> changed hunk -------------------------------------------------
def git_pairs(bundle, name, skip, work):
    dest = os.path.join(work, name)
    if not os.path.isdir(dest):
        subprocess.run(['git', 'clone', '-q', bundle, dest], check=True)
    log = subprocess.run(['git', '-C', dest, 'log', '--no-merges', '--format=%x00%H%x01%B%x02', '-p', '-U2', '--', '*.py', '*.js', '*.ts'],
                         capture_output=True, text=True, errors='replace').stdout
    n = 0
    for rec in log.split('\x00')[1:]:
        sha, rest = rec.split('\x01', 1)
        msg, diff = rest.split('\x02', 1)
        if sha in skip or sha[:10] in skip:
            continue
        q = first_par(msg)
        if q.split('\n')[0].strip() in skip:
            continue
        hunks = re.split(r'\n@@[^\n]*@@[^\n]*\n', diff)[1:]
        for h in hunks[:8]:
            post = [l[1:] for l in h.split('\n') if l.startswith(' ') or l.startswith('+')]
            post = [l for l in post if not l.startswith('++')]
            if not any(l.startswith('+') for l in h.split('\n')):
                continue
            n += emit('git', name, f'{name}:{sha}', 'train', 'commit', q, '\n'.join(post[:CODE_LINES]))
    return n


def shippable(licence):
    """May the weights we ship under MIT learn from code under `licence`? Only permissive or file-level licences:
    copyleft (GPL, LGPL, AGPL) unless dual-licensed with a permissive alternative, and no unknown or proprietary
    terms ("SEE LICENSE IN ...", UNLICENSED, none given)."""
    if not licence:
        return False
    text = licence.upper()
    if 'SEE LICENSE' in text or 'UNLICENSED' in text or 'PROPRIETARY' in text:
        return False
    options = re.split(r'\s+OR\s+|\s*/\s*', re.sub(r'[()]', ' ', text).strip())
    return any(not re.search(r'\b(A|L)?GPL', o) for o in options if o.strip())


def npm_licence(nm, pkg):
    try:
        lic = json.load(open(os.path.join(nm, pkg, 'package.json'))).get('license')
    except (OSError, ValueError):
        return None
    return lic.get('type') if isinstance(lic, dict) else lic


def deb_licence(pkg):
    """The licence of the 'Files: *' stanza of /usr/share/doc/<pkg>/copyright (DEP-5), else its first License: field."""
    try:
        text = open(f'/usr/share/doc/{pkg}/copyright', encoding='utf-8', errors='replace').read()
    except OSError:
        return None
    first = None
    for st in re.split(r'\n\s*\n', text):
        f = re.search(r'^Files:\s*(.*)$', st, re.M)
        lic = re.search(r'^License:\s*(.*)$', st, re.M)
        if lic and first is None:
            first = lic.group(1).strip()
        if f and lic and f.group(1).strip().split()[0] == '*':
            return lic.group(1).strip()
    return first or 'see /usr/share/doc/%s/copyright' % pkg


def installed(pkg):
    return subprocess.run(['dpkg', '-s', pkg], capture_output=True).returncode == 0


# A package that is not installed has no copyright file either: without this check it would read as an
# unknown licence and be skipped, and a full run would quietly lose most of its Python pairs.
absent = [p for p in man['debian'] if not installed(p)]
if absent and not args.smoke:
    sys.exit(f'mine_pairs: Debian packages of the manifest not installed ({len(absent)}); '
             f'run: apt-get update && apt-get install --no-install-recommends {" ".join(absent)}')
licences = {}
rng = random.Random(1234)
refused = {}
for pkg in man['debian']:
    if pkg in absent:
        print(f'mine: deb {pkg} not installed: skipped (--smoke mines what is installed)', flush=True)
        continue
    licences[pkg] = deb_licence(pkg)
    if not shippable(licences[pkg]):
        refused[pkg] = licences[pkg]
        print(f'mine: deb {pkg} SKIPPED: licence {licences[pkg]!r} is not one the shipped weights may learn from', flush=True)
        continue
    split = 'heldout' if pkg in HELD_DEB else 'train'
    fs = deb_files(pkg)
    if args.smoke:
        fs = fs[:5]
    k = sum(py_file(pkg, f, split, rng) for f in fs)
    print(f'mine: deb {pkg} [{split}] files {len(fs)} pairs {k}', flush=True)
nm = args.node_modules
pk = npm_packages(nm)
if args.smoke:
    pk = [p for p in pk if p in ('commander', 'lru-cache', 'semver')]


def mine_npm(root, pkgs, label, split_of):
    """JSDoc pairs of each package under root whose licence the weights may learn from; returns {pkg: licence}."""
    mined = {}
    for pkg in pkgs:
        licence = npm_licence(root, pkg)
        if not shippable(licence):
            refused[pkg] = licence
            print(f'mine: {label} {pkg} SKIPPED: licence {licence!r}', flush=True)
            continue
        mined[pkg] = licence
        split = split_of(pkg)
        fs = npm_files(root, pkg)
        k = sum(js_file(pkg, f, split, rng) for f in fs)
        if k:
            print(f'mine: {label} {pkg} [{split}] files {len(fs)} pairs {k}', flush=True)
    return mined


mine_npm(nm, pk, 'npm', lambda pkg: 'heldout' if pkg in HELD_NPM else 'train')
extra_licences = None
if args.extra_node_modules and not args.smoke:
    # After node_modules, held-out packages included: a pair that duplicates a held-out pair is dropped from
    # training (first seen wins), and the held-out set stays what it was without these packages.
    xm = args.extra_node_modules
    extra = []
    for p in npm_packages(xm):
        if p in HELD_NPM or p in pk:
            print(f'mine: npm extra {p} SKIPPED: held out or already in node_modules', flush=True)
        else:
            extra.append(p)
    extra_licences = mine_npm(xm, extra, 'npm extra', lambda pkg: 'train')
if not args.smoke:
    inst = [json.loads(l) for l in open(man['gitInstances'])]
    skip = set()
    for it in inst:
        skip.update([it['fix'], it['base'], it['fix'][:10], it['query'].split('\n')[0].strip()])
    work = os.path.join(args.out, 'git')
    os.makedirs(work, exist_ok=True)
    for b in man['gitBundles']:
        name = os.path.basename(b).replace('.bundle', '')
        if any(e in name for e in EXCL):
            continue
        k = git_pairs(b, name, skip, work)
        print(f'mine: git {name} pairs {k}', flush=True)
out_pairs.close()
out_negs.close()
summary = {f'{s}/{sp}': {'pairs': sum(v.values()), 'byPackage': v} for (s, sp), v in sorted(counts.items())}
summary['debianLicences'] = licences
summary['refusedLicences'] = refused
if extra_licences is not None:
    summary['npmExtraLicences'] = extra_licences
json.dump(summary, open(os.path.join(args.out, 'summary.json'), 'w'), indent=1)
print(json.dumps({k: v['pairs'] for k, v in summary.items() if isinstance(v, dict) and 'pairs' in v}))
