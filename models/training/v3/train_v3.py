"""GistNet v3 LOD1: a hashed bag-of-embeddings encoder trained contrastively on mined (description, code) pairs.

  GIST_THREADS=1 /usr/bin/python3 models/training/v3/train_v3.py --data DIR --state STATE [--steps N] [--smoke]

Data: DIR from mine_pairs.py + tokenize-pairs.mjs. Train = pairs of training packages, minus a dev split
(files whose FNV-1a hash is 0 mod 50) used for early stopping; held-out packages are never read here
except by --final-eval (the CodeSearchNet protocol, see csn_eval below).
Model (nets.GistLOD1V3): token i -> E1[id % N1] + E2[id % N2] (--buckets N1, default 16,384; N2 the prime below) (+ a hashed bigram table on (id_i,
id_i+1)); salience = softmax over valid tokens of (e_i . u + position bias); gist = L2(W sum_i w_i e_i + b).
Loss: InfoNCE (tau) query -> code over in-batch codes + one same-file hard negative per pair, plus the
reverse direction at 0.5. Token dropout on both sides. Checkpoint every --ckpt-every steps in STATE
(ckpt.pt: model, optimiser, step, RNG states); a rerun resumes from it. Writes STATE/lod1v3.pt (best dev
MRR), STATE/v3-metrics.json, and exports STATE/gistnet-lod1-v3-fp32.onnx.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import nets  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--data', required=True)
ap.add_argument('--state', required=True)
ap.add_argument('--steps', type=int, default=4000)
ap.add_argument('--batch', type=int, default=512)
ap.add_argument('--tau', type=float, default=0.05)
ap.add_argument('--lr', type=float, default=3e-3)
ap.add_argument('--emb-lr', type=float, default=1e-2)
ap.add_argument('--tok-drop', type=float, default=0.2, help='token dropout on queries and codes (round 14: 0.2 with --ema beat 0.1 on the package dev split)')
ap.add_argument('--heads', type=int, default=1, help='attention-pooling heads (their pooled vectors are concatenated before the output layer; per-block cost)')
ap.add_argument('--hidden', type=int, default=0, help='>0: the output layer is an MLP with this many hidden units (per-block cost)')
ap.add_argument('--query-tables', type=int, default=0, choices=[0, 1, 2], help='an asymmetric query side: 1 a residual table added to E1 for queries (zero at the start), 2 two query tables of their own; 0 queries and codes share the tables')
ap.add_argument('--bigram', type=int, default=0, help='1: a third table for hashed key bigrams (round 10 candidate; larger, not better)')
ap.add_argument('--keymap', default=None, help='int32 [200019] id -> normalised key (keymap.mjs)')
ap.add_argument('--eval-every', type=int, default=250)
ap.add_argument('--ckpt-every', type=int, default=250)
ap.add_argument('--seed', type=int, default=1234)
ap.add_argument('--smoke', action='store_true')
ap.add_argument('--dev-packages', default='', help='comma-separated packages held out of training as a package-level dev split (the held-out test is whole packages too); empty: none')
ap.add_argument('--select', choices=['file', 'package'], default='file', help='early stopping on the file-level dev split or on --dev-packages')
ap.add_argument('--ema', type=float, default=0.999, help='keep an exponential moving average of the weights with this decay (0: off); dev metrics and the saved state use it')
ap.add_argument('--buckets', type=int, default=16384, help='rows of the first key table (the second has the largest prime below): keys share rows when there are fewer rows than keys')
ap.add_argument('--init', default=None, help='start from this GistLOD1V3 state (lod1v3.pt) instead of random weights')
ap.add_argument('--mined-negs-from', default=None, help='a trained GistLOD1V3 state: each training pair also gets a hard negative of another file that this model ranks close to its query (mine_negs.py)')
ap.add_argument('--mine-pool', type=int, default=40000, help='training codes the mined negatives are drawn from (seeded sample)')
ap.add_argument('--freq-keys', type=int, default=0, help='1: renumber keys by training frequency so that the most frequent 16,381 keys own their rows in both tables')
ap.add_argument('--keep-eval-queries', action='store_true', help='train also on pairs whose query equals a held-out or package-dev query (before round 20)')
ap.add_argument('--final-eval', action='store_true', help='also print the CSN-protocol MRR on the held-out packages (PyTorch)')
args = ap.parse_args()
if args.smoke:
    args.steps, args.batch, args.eval_every, args.ckpt_every = 60, 64, 30, 30
    if args.ema > 0:
        args.ema = min(args.ema, 0.9)  # 60 steps: a 0.999 average would still be the initial weights
nets.seed_everything(args.seed)
os.makedirs(args.state, exist_ok=True)
L = 32
t_start = time.time()


def log(m):
    print(f'[{time.time() - t_start:7.1f}s] train_v3: {m}', flush=True)


tok = json.load(open(os.path.join(args.data, 'tok.json')))
N = tok['n']
q_all = np.fromfile(os.path.join(args.data, 'q.i32'), dtype=np.int32).reshape(N, L).astype(np.int64)
c_all = np.fromfile(os.path.join(args.data, 'c.i32'), dtype=np.int32).reshape(N, L).astype(np.int64)
meta = np.fromfile(os.path.join(args.data, 'meta.i32'), dtype=np.int32).reshape(N, 4)
n_all = np.fromfile(os.path.join(args.data, 'n.i32'), dtype=np.int32).reshape(-1, L).astype(np.int64)
nfile = np.fromfile(os.path.join(args.data, 'nfile.i32'), dtype=np.int32)
files = tok['files']


def fnv(s):
    h = 0x811c9dc5
    for ch in s.encode('utf-16-le')[::2]:
        h ^= ch
        h = (h * 0x01000193) & 0xffffffff
    return h


def split_key(path):
    # The file-level dev split must not depend on where the checkout or the data folder lies: an npm file is named
    # by its path inside node_modules (the project's node_modules is mined by absolute path, the fetched packages
    # under the data folder). Debian paths and git pairs are the same on every machine.
    i = path.rfind('/node_modules/')
    return path[i + len('/node_modules/'):] if i >= 0 else path


dev_file = np.array([fnv(split_key(f)) % 50 == 0 for f in files])
is_held = meta[:, 1] == 1
pkg_names = tok.get('pkgNames', [])
dev_pk = [x for x in args.dev_packages.split(',') if x]
missing = [x for x in dev_pk if x not in pkg_names]
if missing:
    sys.exit(f'train_v3: --dev-packages not in the data: {", ".join(missing)}')
if dev_pk:
    pk = np.fromfile(os.path.join(args.data, 'pkg.i32'), dtype=np.int32)
    is_pdev = ~is_held & np.isin(pk, [pkg_names.index(x) for x in dev_pk])
else:
    is_pdev = np.zeros(N, dtype=bool)
is_dev = ~is_held & ~is_pdev & dev_file[meta[:, 0]]
train_idx = np.where(~is_held & ~is_dev & ~is_pdev)[0]
dev_idx = np.where(is_dev)[0]
# package dev, scored as the held-out test is: Python docstrings (def, class) and JSDoc, separately
pdev_py = np.where(is_pdev & (meta[:, 2] == 0) & (meta[:, 3] <= 1))[0]
pdev_js = np.where(is_pdev & (meta[:, 2] == 1))[0]
if args.select == 'package' and (len(pdev_py) < 2 or len(pdev_js) < 2):
    sys.exit('train_v3: --select package needs --dev-packages with Python and npm pairs')
held_idx = np.where(is_held)[0]
if not args.keep_eval_queries:
    # A training pair whose query (its 32 tokens) is the query of a held-out or package-dev pair is left out:
    # copies bundled into other packages (lodash inside a build of @secretlint or exceljs, undici's docs in
    # undici-types, htmlparser2's tokenizer inside vue) would otherwise teach the evaluation's own docstrings.
    eval_q = {q_all[i].tobytes() for i in np.where(is_held | is_pdev)[0]}
    leak = np.fromiter((q_all[i].tobytes() in eval_q for i in train_idx), dtype=bool, count=len(train_idx))
    train_idx = train_idx[~leak]
    log(f'left out {int(leak.sum())} training pairs whose query is a held-out or package-dev query')
log(f'pairs {N}: train {len(train_idx)}, dev {len(dev_idx)}, package dev {int(is_pdev.sum())} '
    f'(Python docstrings {len(pdev_py)}, JSDoc {len(pdev_js)}), held-out {len(held_idx)}; negative chunks {len(n_all)}')
log('train by src (deb, npm, git): ' + str(np.bincount(meta[train_idx, 2], minlength=3).tolist()))

# Hard negatives: per file, the codes of its other pairs (index >= 0) and its extra chunks (-1 - j).
by_file = {}
for i in train_idx:
    by_file.setdefault(int(meta[i, 0]), []).append(int(i))
chunks_by_file = {}
for j, f in enumerate(nfile):
    chunks_by_file.setdefault(int(f), []).append(-1 - j)
rng = np.random.RandomState(args.seed)


def hard_neg(i):
    f = int(meta[i, 0])
    cand = by_file.get(f, [])
    ch = chunks_by_file.get(f, [])
    n = len(cand) - 1 + len(ch)
    if n <= 0:
        return None
    k = rng.randint(n)
    if k < len(cand) - 1:
        j = cand[k] if cand[k] != i else cand[-1]
        return c_all[j]
    return n_all[-1 - ch[k - (len(cand) - 1)]]


mined = None
if args.mined_negs_from:
    import mine_negs
    _sd = torch.load(args.mined_negs_from)
    _m = nets.lod1v3_from_state(_sd)
    _m.load_state_dict(_sd)
    mined = mine_negs.mine(_m, q_all, c_all, meta[:, 0], train_idx, pool=args.mine_pool, seed=args.seed, log=log)
    del _m, _sd


def mask_of(t):
    return (t != 0).float()


def drop(t, p):
    if p <= 0:
        return t
    keep = torch.rand(t.shape) >= p
    keep[:, 0] = True
    out = t * keep
    # keep rows left-aligned (pads only at the end, as the engine writes them)
    order = torch.argsort((out == 0).int(), dim=1, stable=True)
    return torch.gather(out, 1, order)


keymap = np.fromfile(args.keymap, dtype=np.int32).astype(np.int64) if args.keymap else None
if args.freq_keys and keymap is not None:
    # Key numbers are arbitrary, and the graph carries the map, so renumbering costs nothing at inference:
    # the most frequent keys of the training pairs get the smallest numbers, so each of the first 16,381
    # owns its row in both tables (rarer keys still share rows, as every key did before).
    cnt = np.bincount(keymap[np.concatenate([q_all[train_idx].ravel(), c_all[train_idx].ravel()])], minlength=int(keymap.max()) + 1)
    cnt[keymap[0]] = 0
    # Ranks 16,384 to 32,767 (the next keys) take numbers in reverse, so that their rows (mod 16,384 and mod
    # 16,381) are those of the least frequent first-tier keys, not of the most frequent ones.
    order = np.argsort(-cnt, kind='stable')
    num = np.arange(len(order))
    if len(num) >= 2 * args.buckets:
        num[args.buckets:2 * args.buckets] = num[args.buckets:2 * args.buckets][::-1]
    renum = np.empty_like(order)
    renum[order] = num
    keymap = renum[keymap]
    log(f'keys renumbered by frequency: {int((cnt > 0).sum())} of {len(cnt)} keys occur in training')
model = nets.GistLOD1V3(bigram=bool(args.bigram), sparse=True, keymap=keymap, buckets=args.buckets, heads=args.heads, hidden=args.hidden, query_tables=args.query_tables)
if args.init:
    model.load_state_dict(torch.load(args.init))
    log(f'weights from {args.init}')
log(f'params {nets.count_params(model):,} (bigram {bool(args.bigram)}, heads {args.heads}, hidden {args.hidden}, query tables {args.query_tables})')
emb_params = [p for n, p in model.named_parameters() if n.startswith(nets.TABLES)]
other = [p for n, p in model.named_parameters() if not n.startswith(nets.TABLES)]
# sparse embedding gradients: SparseAdam touches only the rows of the batch (dense AdamW over 6M
# parameters cost most of a step)
opt_e = torch.optim.SparseAdam(emb_params, lr=args.emb_lr)
opt_o = torch.optim.AdamW(other, lr=args.lr, weight_decay=0.01)
for g in opt_e.param_groups:
    g['base'] = args.emb_lr
for g in opt_o.param_groups:
    g['base'] = args.lr


class Opt:
    param_groups = opt_e.param_groups + opt_o.param_groups

    def zero_grad(self):
        opt_e.zero_grad(); opt_o.zero_grad()

    def step(self):
        opt_e.step(); opt_o.step()

    def state_dict(self):
        return {'e': opt_e.state_dict(), 'o': opt_o.state_dict()}

    def load_state_dict(self, st):
        opt_e.load_state_dict(st['e']); opt_o.load_state_dict(st['o'])


opt = Opt()
ema = None
if args.ema > 0:
    ema = {n: p.detach().clone() for n, p in model.named_parameters()}


def ema_update():
    with torch.no_grad():
        for n, p in model.named_parameters():
            ema[n].mul_(args.ema).add_(p.detach(), alpha=1 - args.ema)


class EmaWeights:
    """Swap the averaged weights into the model for evaluation or saving."""

    def __enter__(self):
        if ema is not None:
            self.live = {n: p.detach().clone() for n, p in model.named_parameters()}
            with torch.no_grad():
                for n, p in model.named_parameters():
                    p.copy_(ema[n])

    def __exit__(self, *a):
        if ema is not None:
            with torch.no_grad():
                for n, p in model.named_parameters():
                    p.copy_(self.live[n])


@torch.no_grad()
def encode(rows, bs=4096, query=False):
    model.eval()
    out = []
    for s in range(0, len(rows), bs):
        t = torch.from_numpy(rows[s:s + bs])
        out.append(model(t, mask_of(t), query)[0])
    model.train()
    return torch.cat(out).numpy()


def csn_mrr(qg, cg, fidx, n_dist=999, seed=0, cap=None):
    """CodeSearchNet protocol: each query vs its gold code + n_dist codes of other files of the set."""
    r = np.random.RandomState(seed)
    n = len(qg)
    order = np.arange(n) if cap is None or cap >= n else r.choice(n, cap, replace=False)
    rr = []
    for i in order:
        d = r.randint(0, n, size=n_dist * 2)
        d = d[fidx[d] != fidx[i]][:n_dist]
        s_gold = float(qg[i] @ cg[i])
        s = cg[d] @ qg[i]
        rank = 1 + (s > s_gold).sum() + 0.5 * (s == s_gold).sum()
        rr.append(1.0 / rank)
    return float(np.mean(rr)), len(order)


def eval_set(idx, cap=None):
    qg, cg = encode(q_all[idx], query=True), encode(c_all[idx])
    return csn_mrr(qg, cg, meta[idx, 0], n_dist=min(999, len(idx) - 1), cap=cap)


ckpt = os.path.join(args.state, 'ckpt.pt')
step, best, best_step, hist = 0, -1.0, 0, []
if os.path.exists(ckpt):
    st = torch.load(ckpt)
    model.load_state_dict(st['model'])
    if ema is not None and 'ema' in st:
        ema = st['ema']
    opt.load_state_dict(st['opt'])
    step, best, best_step, hist = st['step'], st['best'], st['best_step'], st['hist']
    rng.set_state(st['np_rng'])
    torch.set_rng_state(st['torch_rng'])
    log(f'resumed from {ckpt} at step {step} (best dev MRR {best:.4f} at {best_step})')

B = args.batch
t_train = time.time()
while step < args.steps:
    f = step / max(1, args.steps)
    warm = 0.03
    mult = (step + 1) / (warm * args.steps) if f < warm else 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (f - warm) / (1 - warm)))
    for g in opt.param_groups:
        g['lr'] = g['base'] * mult
    bi = train_idx[rng.randint(0, len(train_idx), size=B)]
    q = torch.from_numpy(q_all[bi])
    c = torch.from_numpy(c_all[bi])
    hn = [hard_neg(i) for i in bi]
    if mined is not None:
        hn += [c_all[mined[i]] if mined[i] >= 0 else None for i in bi]
    has = np.array([h is not None for h in hn])
    h = torch.from_numpy(np.stack([x for x in hn if x is not None])) if has.any() else torch.zeros(0, L, dtype=torch.int64)
    q, c, h = drop(q, args.tok_drop), drop(c, args.tok_drop), drop(h, args.tok_drop)
    gq, _ = model(q, mask_of(q), True)
    gc, _ = model(torch.cat([c, h]), mask_of(torch.cat([c, h])))
    logits = gq @ gc.T / args.tau
    # identical codes / queries in the batch are not negatives
    same_c = torch.from_numpy((c_all[bi][:, None, :] == c_all[bi][None, :, :]).all(-1))
    eye = torch.eye(B, dtype=torch.bool)
    logits[:, :B] = logits[:, :B].masked_fill(same_c & ~eye, -1e4)
    tgt = torch.arange(B)
    loss = F.cross_entropy(logits, tgt) + 0.5 * F.cross_entropy(logits[:, :B].T, tgt)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if ema is not None:
        ema_update()
    step += 1
    if step % 50 == 0:
        log(f'step {step}/{args.steps} loss {loss.item():.4f} ({(time.time() - t_train) / step:.3f} s/step this run)')
    if (step % args.eval_every == 0 or step == args.steps) and len(dev_idx) < 2:
        # No dev split to choose by (a smoke run over a few installed files): keep the latest step.
        log(f'step {step}: no dev pairs ({len(dev_idx)}); keeping this step')
        best, best_step = 0.0, step
        with EmaWeights():
            torch.save(model.state_dict(), os.path.join(args.state, 'lod1v3.pt'))
    elif step % args.eval_every == 0 or step == args.steps:
        with EmaWeights():
            mrr, n = eval_set(dev_idx, cap=3000)
            row = [step, mrr]
            msg = f'step {step}: dev CSN MRR {mrr:.4f} (n {n})'
            if len(pdev_py) > 1 and len(pdev_js) > 1:
                mp, _ = eval_set(pdev_py)
                mj, _ = eval_set(pdev_js)
                row += [mp, mj]
                msg += f'; package dev Python {mp:.4f} (n {len(pdev_py)}), JSDoc {mj:.4f} (n {len(pdev_js)}), mean {(mp + mj) / 2:.4f}'
                if args.select == 'package':
                    mrr = (mp + mj) / 2
            hist.append(row)
            log(msg)
            if mrr > best:
                best, best_step = mrr, step
                torch.save(model.state_dict(), os.path.join(args.state, 'lod1v3.pt'))
    if step % args.ckpt_every == 0 or step == args.steps:
        torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'step': step, 'best': best, 'best_step': best_step,
                    'hist': hist, 'ema': ema, 'np_rng': rng.get_state(), 'torch_rng': torch.get_rng_state()}, ckpt + '.tmp')
        os.replace(ckpt + '.tmp', ckpt)

model.load_state_dict(torch.load(os.path.join(args.state, 'lod1v3.pt')))
log(f'best dev MRR {best:.4f} at step {best_step}')
metrics = {'keymap': bool(args.keymap), 'best_step': best_step, 'best_dev_mrr': best, 'dev_history': hist, 'params': nets.count_params(model),
           'bigram': bool(args.bigram), 'steps': args.steps, 'select': args.select, 'dev_packages': dev_pk,
           'ema': args.ema, 'buckets': args.buckets, 'init': args.init, 'mined_negs_from': args.mined_negs_from, 'freq_keys': bool(args.freq_keys), 'query_tables': args.query_tables, 'tok_drop': args.tok_drop, 'batch': B, 'tau': args.tau,
           'pairs': {'train': int(len(train_idx)), 'dev': int(len(dev_idx)), 'heldout': int(len(held_idx))}}
if args.final_eval:
    for name, src in (('python', 0), ('tsjs', 1)):
        idx = held_idx[meta[held_idx, 2] == src]
        if len(idx) > 1:
            mrr, n = eval_set(idx)
            metrics[f'heldout_csn_{name}_pytorch'] = {'mrr': mrr, 'queries': n}
            log(f'held-out CSN MRR {name}: {mrr:.4f} (n {n}, PyTorch fp32)')
json.dump(metrics, open(os.path.join(args.state, 'v3-metrics.json'), 'w'), indent=1)
nets.export_lod1(model, os.path.join(args.state, 'gistnet-lod1-v3-fp32.onnx'))
log('exported ' + os.path.join(args.state, 'gistnet-lod1-v3-fp32.onnx'))
