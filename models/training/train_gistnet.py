"""Train GistNet LOD1 and LOD2 on the dataset written by gist-data.mjs and export both to ONNX.

v2: Python def/class docstrings + Python comment pairs + JSDoc pairs (npm sources), batches half
Python / half JSDoc, positive = the def-line window or the block holding it, token dropout, AdamW with
weight decay (none on the embedding, which has its own smaller learning rate), embedding initialised
from PPMI+SVD co-occurrence of normalised token keys, salience target matched by key, and early stopping
on the held-out Python pairs' cross-document window MRR. Runs single-threaded by default (GIST_THREADS):
on a shared 2-core machine two threads were ~50x slower per step.

  /usr/bin/python3 models/training/train_gistnet.py --data models/training/.data/gist --out DIR [--smoke]

Writes DIR/gistnet-lod1.onnx, DIR/gistnet-lod2.onnx, DIR/.state/{lod1,lod2}.pt and DIR/.state/gist-metrics.json.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as Fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets  # noqa: E402
from nets import BLOCK_TOKENS as BT, GROUP_BLOCKS as GB, D, VOCAB_BUCKETS as V  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--data', required=True)
ap.add_argument('--out', required=True)
ap.add_argument('--smoke', action='store_true')
ap.add_argument('--state', default=None, help='where .pt state dicts and metrics go (default OUT/.state)')
ap.add_argument('--seed', type=int, default=1234)
ap.add_argument('--steps1', type=int, default=None)
ap.add_argument('--steps2', type=int, default=None)
ap.add_argument('--batch', type=int, default=48)
ap.add_argument('--hard', type=int, default=2)
ap.add_argument('--tau', type=float, default=0.05)
ap.add_argument('--eval-cap', type=int, default=None)
ap.add_argument('--layers1', type=int, default=2)
ap.add_argument('--lr', type=float, default=2e-3)
ap.add_argument('--emb-lr', type=float, default=1e-3, help='learning rate of the token embedding')
ap.add_argument('--wd', type=float, default=0.05)
ap.add_argument('--tok-drop', type=float, default=0.1, help='training-time token dropout on queries and blocks')
ap.add_argument('--py-frac', type=float, default=0.5, help='share of each batch drawn from Python pairs (the rest JSDoc)')
ap.add_argument('--aligned', type=float, default=0.5, help='probability that the positive is the 32 tokens starting at the def line (else the block holding it)')
ap.add_argument('--init', default='ppmi', choices=['ppmi', 'random'], help='token embedding initialisation')
ap.add_argument('--eval-every', type=int, default=None)
ap.add_argument('--sal', type=float, default=0.2)
ap.add_argument('--lod1-v3', default=None, help='GistNet v3: load this trained nets.GistLOD1V3 state (models/training/v3/train_v3.py) as LOD1 instead of training LOD1 (no LOD1 steps); evaluate it and train LOD2 on its gists')
args = ap.parse_args()

STEPS1 = args.steps1 if args.steps1 is not None else (6 if args.smoke else 500)
if args.lod1_v3:
    STEPS1 = 0
STEPS2 = args.steps2 if args.steps2 is not None else (4 if args.smoke else 150)
EVAL_EVERY = args.eval_every or (3 if args.smoke else 100)
EVAL_CAP = 4 if args.smoke else 40
if args.eval_cap is not None:
    EVAL_CAP = args.eval_cap
if args.smoke:
    args.batch = min(args.batch, 16)
nets.seed_everything(args.seed)
rng = np.random.RandomState(args.seed)
state_dir = args.state or os.path.join(args.out, '.state')
os.makedirs(state_dir, exist_ok=True)
T_START = time.time()


def log(msg):
    print(f'[gistnet {time.time() - T_START:6.1f}s] {msg}', flush=True)


# ---------------------------------------------------------------- data
header = json.load(open(os.path.join(args.data, 'header.json')))
tokens = np.fromfile(os.path.join(args.data, 'tokens.i32'), dtype='<i4').astype(np.int64)
queries = np.fromfile(os.path.join(args.data, 'queries.i32'), dtype='<i4').astype(np.int64)
NCOL = len(header.get('pairColumns', [0] * 7))
pairs = np.fromfile(os.path.join(args.data, 'pairs.i32'), dtype='<i4').reshape(-1, NCOL).astype(np.int64)
kind = pairs[:, 7] if NCOL >= 8 else np.zeros(len(pairs), dtype=np.int64)  # 0 def doc, 1 comment, 2 JSDoc, 3 class doc
# def offset inside the pair's document (its documentation removed): Python docstrings follow the
# def line, JSDoc comments precede the declaration.
def_doc = np.where(pairs[:, 3] < pairs[:, 1], pairs[:, 3], pairs[:, 3] - (pairs[:, 2] - pairs[:, 1]))
files = header['files']
file_tok = [tokens[f['tokOffset']:f['tokOffset'] + f['tokLen']] for f in files]
is_val_file = np.array([f['split'] == 'val' for f in files])
if args.smoke and not is_val_file.any():
    is_val_file[-1] = True  # smoke: still exercise the held-out path
pair_val = is_val_file[pairs[:, 0]]
train_idx = np.nonzero(~pair_val)[0]
val_idx = np.nonzero(pair_val)[0]
log(f'{len(files)} files, {len(tokens)} tokens, {len(pairs)} pairs ({len(train_idx)} train, {len(val_idx)} held-out)')
log('pairs by kind (0 def doc, 1 comment, 2 JSDoc, 3 class doc): train ' + str(np.bincount(kind[train_idx], minlength=4).tolist())
    + ' held-out ' + str(np.bincount(kind[val_idx], minlength=4).tolist()))
train_py = train_idx[kind[train_idx] != 2]
train_js = train_idx[kind[train_idx] == 2]


def pair_doc(p):
    fi, rs, re_ = pairs[p, 0], pairs[p, 1], pairs[p, 2]
    t = file_tok[fi]
    return np.concatenate([t[:rs], t[re_:]])


class LazyDoc:
    """A pair's document (the file minus the pair's documentation range), sliced on demand: v2 has
    thousands of pairs in 100k-token declaration files, too many to materialise."""
    __slots__ = ('t', 'rs', 're_', 'n')

    def __init__(self, p):
        self.t, self.rs, self.re_ = file_tok[pairs[p, 0]], int(pairs[p, 1]), int(pairs[p, 2])
        self.n = len(self.t) - (self.re_ - self.rs)

    def __len__(self):
        return self.n

    def __getitem__(self, sl):
        a, b = max(0, sl.start or 0), min(self.n, self.n if sl.stop is None else sl.stop)
        if b <= a:
            return self.t[:0]
        if b <= self.rs:
            return self.t[a:b]
        if a >= self.rs:
            return self.t[a + self.re_ - self.rs:b + self.re_ - self.rs]
        return np.concatenate([self.t[a:self.rs], self.t[self.re_:b + self.re_ - self.rs]])


docs = [LazyDoc(p) for p in range(len(pairs))]
pos_block = def_doc // BT
n_blocks = np.array([(len(d) + BT - 1) // BT for d in docs])


def query_tokens(p):
    return queries[pairs[p, 4]:pairs[p, 4] + pairs[p, 5]]


def pad_rows(rows, length=BT, drop=0.0):
    x = np.zeros((len(rows), length), dtype=np.int64)
    m = np.zeros((len(rows), length), dtype=np.float32)
    for i, r in enumerate(rows):
        r = r[:length]
        if drop > 0 and len(r) > 2:  # token dropout (training only): keep >= 1 token
            keep = rng.rand(len(r)) >= drop
            if not keep.any():
                keep[rng.randint(len(r))] = True
            r = r[keep]
        x[i, :len(r)] = r
        m[i, :len(r)] = 1.0
    return torch.from_numpy(x), torch.from_numpy(m)


def window_of(p):
    """The 32 tokens of the pair's document starting at its def/declaration line."""
    return docs[p][def_doc[p]:def_doc[p] + BT]


def block_of(doc, b):
    return doc[b * BT:(b + 1) * BT]


# Frequent tokens (in > 2% of training blocks) are ignored by the salience target.
blk_ids = []
for fi, f in enumerate(files):
    if is_val_file[fi]:
        continue
    t = file_tok[fi]
    for b in range(0, len(t), BT):
        blk_ids.append(np.unique(t[b:b + BT]))
all_ids = np.concatenate(blk_ids) if blk_ids else np.zeros(0, np.int64)
uniq, cnt = np.unique(all_ids, return_counts=True)
stop_ids = set(uniq[cnt > max(3, 0.02 * len(blk_ids))].tolist())
log(f'{len(stop_ids)} frequent token ids excluded from the salience target')


def bag(rows):
    """Normalised multi-hot over hashed buckets."""
    out = torch.zeros(len(rows), REC_V)
    for i, r in enumerate(rows):
        if len(r):
            out[i, torch.from_numpy(np.unique((r % V) % REC_V))] = 1.0
    return out / out.sum(-1, keepdim=True).clamp_min(1.0)




# ---------------------------------------------------------------- token keys
# keys.json (gist-data v2) gives every token id's normalised text; ids sharing a key (' decode',
# 'decode', '_Decode') count as the same word for the salience target and the embedding init.
key_path = os.path.join(args.data, 'keys.json')
MAXID = int(max(tokens.max(initial=0), queries.max(initial=0))) + 1
key_of = np.arange(MAXID, dtype=np.int64)  # fallback: every id its own key
n_keys = MAXID
if os.path.exists(key_path):
    kj = json.load(open(key_path))
    names = {}
    kid = np.array([names.setdefault(k, len(names)) for k in kj['keys']], dtype=np.int64)
    key_of = np.full(MAXID, -1, dtype=np.int64)
    key_of[np.array(kj['ids'], dtype=np.int64)] = kid
    n_keys = len(names)
    log(f'{len(kj["ids"])} token ids -> {n_keys} normalised keys')
stop_keys = set(key_of[np.array(sorted(stop_ids), dtype=np.int64)].tolist()) if stop_ids else set()


def keys(r):
    return key_of[r]


def ppmi_init(dim, window=4, rank_cap=20000):
    """Embedding init: PPMI + truncated SVD over normalised keys, from (a) +-window co-occurrence in
    the training files and (b) query x def-window co-occurrence of the training pairs. A bucket gets
    the frequency-weighted mean vector of the training ids hashed into it."""
    rows, cols = [], []
    for fi in np.nonzero(~is_val_file)[0]:
        k = keys(file_tok[fi])
        for d in range(1, window + 1):
            rows += [k[:-d], k[d:]]
            cols += [k[d:], k[:-d]]
    for p in train_idx:
        qk = np.unique(keys(query_tokens(p)))
        wk = np.unique(keys(window_of(p)))
        rows += [np.repeat(qk, len(wk)), np.repeat(wk, len(qk))]
        cols += [np.tile(wk, len(qk)), np.tile(qk, len(wk))]
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    ok = (r >= 0) & (c >= 0)
    r, c = r[ok], c[ok]
    # contexts = the NC most frequent keys (dense numpy; no scipy in Debian's python3 here)
    freq = np.bincount(c, minlength=n_keys)
    NC = min(n_keys, 2048)
    ctx = np.argsort(-freq, kind='stable')[:NC]
    cpos = np.full(n_keys, -1, dtype=np.int64)
    cpos[ctx] = np.arange(NC)
    ok = cpos[c] >= 0
    C = np.bincount(r[ok] * NC + cpos[c[ok]], minlength=n_keys * NC).reshape(n_keys, NC).astype(np.float64)
    tot = C.sum()
    rs = C.sum(1)
    cs = C.sum(0) ** 0.75
    cs = cs / cs.sum()
    with np.errstate(divide='ignore', invalid='ignore'):
        P = np.log(C * tot / np.maximum(rs[:, None], 1.0) / tot / cs[None, :] / tot * tot)
    P = np.where((C > 0) & np.isfinite(P) & (P > 0), P, 0.0).astype(np.float32)
    nnz = int((P > 0).sum())
    G = (P.T @ P).astype(np.float64)
    ev, Vv = np.linalg.eigh(G)
    order = np.argsort(-ev)[:dim]
    S = np.sqrt(np.maximum(ev[order], 1e-12))
    U = (P @ Vv[:, order]) / S[None, :]
    vec = U * np.sqrt(S)[None, :]
    vec = vec / (np.linalg.norm(vec, axis=1, keepdims=True) + 1e-9)
    # bucket = frequency-weighted mean over the training ids hashed into it
    cnt = np.bincount(np.concatenate([file_tok[fi] for fi in np.nonzero(~is_val_file)[0]] + [query_tokens(p) for p in train_idx]), minlength=MAXID).astype(np.float64)
    ids = np.nonzero(cnt > 0)[0]
    ids = ids[key_of[ids] >= 0]
    W = np.zeros((V, dim))
    wsum = np.zeros(V)
    np.add.at(W, ids % V, vec[key_of[ids]] * np.sqrt(cnt[ids])[:, None])
    np.add.at(wsum, ids % V, np.sqrt(cnt[ids]))
    have = wsum > 0
    W[have] /= wsum[have][:, None]
    W[have] /= (np.linalg.norm(W[have], axis=1, keepdims=True) + 1e-9)
    return torch.from_numpy((W * np.sqrt(dim) * 0.1).astype(np.float32)), have, nnz


# ---------------------------------------------------------------- LOD1
if args.lod1_v3:
    _sd = torch.load(args.lod1_v3)
    lod1 = nets.lod1v3_from_state(_sd)
    lod1.load_state_dict(_sd)
    lod1.emb = lod1.e1  # only read for its shape below
else:
    lod1 = nets.GistLOD1(layers=args.layers1)
if args.init == 'ppmi' and not args.lod1_v3:
    t_init = time.time()
    W, have, nnz = ppmi_init(lod1.emb.weight.shape[1])
    with torch.no_grad():
        lod1.emb.weight[torch.from_numpy(have)] = W[torch.from_numpy(have)]
    log(f'embedding init: PPMI-SVD over {n_keys} keys ({nnz} positive PMI cells), {int(have.sum())} of {V} buckets set ({time.time() - t_init:.1f}s)')
REC_V = 4096  # reconstruction target: hashed bucket % 4096 (training-only head, kept small)
recon1 = nn.Linear(D, REC_V)  # training-only head
emb_params = [lod1.emb.weight]
rest = [q for n_, q in lod1.named_parameters() if n_ != 'emb.weight' and not (args.lod1_v3 and n_.startswith('e'))] + list(recon1.parameters())
opt = torch.optim.AdamW([{'params': emb_params, 'lr': args.emb_lr, 'weight_decay': 0.0},
                         {'params': rest, 'lr': args.lr, 'weight_decay': args.wd}])
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: nets.lr_shape(s, STEPS1))
log(f'LOD1 params {nets.count_params(lod1)} (+{nets.count_params(recon1)} training-only recon head)')


@torch.no_grad()
def encode_blocks(model, rows, bs=1024):
    out = []
    for i in range(0, len(rows), bs):
        x, m = pad_rows(rows[i:i + bs])
        out.append(model(x, m)[0])
    return torch.cat(out) if out else torch.zeros(0, D)


def rank_stats(scores, pos):
    """Rank of pos (ties share the average rank)."""
    s = scores[pos]
    greater = float((scores > s).sum())
    ties = float((scores == s).sum()) - 1
    return 1.0 + greater + ties / 2.0


@torch.no_grad()
def eval_lod1(idx, cap):
    """Rank of the positive block among all blocks of the pair's document (its docstring removed).
    Blocks wholly before the removed docstring equal the whole file's blocks, so those gists are
    encoded once per file and reused."""
    lod1.eval()
    idx = idx[:cap] if len(idx) > cap else idx
    r1 = mrr = rnd_r1 = rnd_mrr = lex_r1 = lex_mrr = 0.0
    prefix = {}
    for p in idx:
        doc = docs[p]
        fi = int(pairs[p, 0])
        rows = [block_of(doc, b) for b in range(n_blocks[p])]
        k = int(pairs[p, 1]) // BT  # blocks [0, k) are unaffected by the removal
        if fi not in prefix:
            ft = file_tok[fi]
            prefix[fi] = encode_blocks(lod1, [ft[b:b + BT] for b in range(0, len(ft), BT)])
        g = torch.cat([prefix[fi][:k], encode_blocks(lod1, rows[k:])])
        x, m = pad_rows([query_tokens(p)])
        q = lod1(x, m)[0][0]
        rank = rank_stats((g @ q).numpy(), pos_block[p])
        r1 += rank == 1.0
        mrr += 1.0 / rank
        n = n_blocks[p]
        rnd_r1 += 1.0 / n
        rnd_mrr += float(np.sum(1.0 / np.arange(1, n + 1))) / n
        qs = set(query_tokens(p).tolist()) - stop_ids
        lex = np.array([len(qs & set(r.tolist())) for r in rows], dtype=np.float64)
        lrank = rank_stats(lex, pos_block[p])
        lex_r1 += 1.0 if lrank == 1.0 else 0.0
        lex_mrr += 1.0 / lrank
    n = max(len(idx), 1)
    lod1.train()
    return {'pairs': int(len(idx)), 'recall@1': r1 / n, 'mrr': mrr / n, 'mean_blocks': float(np.mean(n_blocks[idx])) if len(idx) else 0.0,
            'random_recall@1': rnd_r1 / n, 'random_mrr': rnd_mrr / n,
            'lexical_overlap_recall@1': lex_r1 / n, 'lexical_overlap_mrr': lex_mrr / n}


def sample_batch(B):
    """py_frac of the batch from Python pairs (def/class docstrings, comments), the rest JSDoc."""
    if len(train_js) == 0 or len(train_py) == 0:
        return rng.choice(train_idx, size=min(B, len(train_idx)), replace=False)
    n_py = min(len(train_py), int(round(B * args.py_frac)))
    n_js = min(len(train_js), B - n_py)
    return np.concatenate([rng.choice(train_py, size=n_py, replace=False), rng.choice(train_js, size=n_js, replace=False)])


def lod1_step():
    H = args.hard
    ps = sample_batch(args.batch)
    B = len(ps)
    q_rows, pos_rows, neg_rows, neg_valid = [], [], [], []
    for p in ps:
        q_rows.append(query_tokens(p))
        pos_rows.append(window_of(p) if rng.rand() < args.aligned else block_of(docs[p], pos_block[p]))
        nb = n_blocks[p]
        others = np.array([b for b in rng.randint(0, nb, size=H * 3) if b != pos_block[p]][:H], dtype=np.int64)
        for h in range(H):
            if h < len(others):
                neg_rows.append(block_of(docs[p], others[h]))
                neg_valid.append(1.0)
            else:
                neg_rows.append(pos_rows[-1])
                neg_valid.append(0.0)
    xq, mq = pad_rows(q_rows, drop=args.tok_drop)
    xb, mb = pad_rows(pos_rows + neg_rows, drop=args.tok_drop)
    qg, _ = lod1(xq, mq)
    raw_b, wb = lod1.forward_raw(xb, mb)
    bg = nets.l2norm(raw_b)
    pg, ng = bg[:B], bg[B:].reshape(B, H, D)
    # InfoNCE: in-batch positives + own hard negatives; duplicates (same file, same block) masked.
    fi = pairs[ps, 0]
    same = torch.from_numpy((fi[:, None] == fi[None, :]) & (pos_block[ps][:, None] == pos_block[ps][None, :]) & ~np.eye(B, dtype=bool))
    l_in = (qg @ pg.T) / args.tau
    l_in = l_in.masked_fill(same, -1e4)
    l_hard = torch.einsum('bd,bhd->bh', qg, ng) / args.tau
    l_hard = l_hard.masked_fill(torch.tensor(neg_valid).reshape(B, H) == 0, -1e4)
    target = torch.arange(B)
    loss_nce = Fn.cross_entropy(torch.cat([l_in, l_hard], 1), target)
    loss_nce = loss_nce + 0.5 * Fn.cross_entropy(l_in.T, target)
    # Bag-of-tokens reconstruction of every block from its gist.
    bags = bag(pos_rows)  # positives only: keeps the step cheap
    loss_rec = -(bags * Fn.log_softmax(recon1(pg) * 10.0, -1)).sum(-1).mean()
    # Salience: pooling weight on the positive block's tokens that also occur in the query.
    # (v2: matched by normalised key, on the tokens actually fed after dropout)
    ov = np.zeros((B, BT), dtype=np.float32)
    xb_np, mb_np = xb.numpy(), mb.numpy()
    for i, p in enumerate(ps):
        qs = set(keys(query_tokens(p)).tolist()) - stop_keys
        kk = keys(xb_np[i])
        for j in range(BT):
            if mb_np[i, j] > 0 and kk[j] in qs:
                ov[i, j] = 1.0
    ov = torch.from_numpy(ov)
    has = ov.sum(-1) > 0
    if has.any():
        mass = (wb[:B] * ov).sum(-1)
        loss_sal = -torch.log(mass[has] + 1e-4).mean()
    else:
        loss_sal = torch.zeros(())
    loss = loss_nce + 0.5 * loss_rec + args.sal * loss_sal
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(list(lod1.parameters()) + list(recon1.parameters()), 1.0)
    opt.step()
    sched.step()
    return float(loss_nce), float(loss_rec), float(loss_sal)


@torch.no_grad()
def eval_windows(idx):
    """Cross-document retrieval, as the product's code-query check: every query against the def-line
    windows (32 tokens from the def/declaration line, documentation removed) of ALL pairs in idx."""
    lod1.eval()
    idx = np.asarray(idx)
    if len(idx) < 2:
        lod1.train()
        return {'pairs': int(len(idx)), 'mrr': 0.0, 'recall@1': 0.0, 'random_mrr': 0.0}
    qg = encode_blocks(lod1, [query_tokens(p) for p in idx])
    wg = encode_blocks(lod1, [window_of(p) for p in idx])
    sc = (qg @ wg.T).numpy()
    diag = np.diag(sc)
    rank = 1.0 + (sc > diag[:, None]).sum(1)
    n = len(idx)
    lod1.train()
    return {'pairs': int(n), 'mrr': float(np.mean(1.0 / rank)), 'recall@1': float(np.mean(rank == 1)),
            'random_mrr': float(np.sum(1.0 / np.arange(1, n + 1)) / n)}


# Early stopping on the held-out Python pairs' cross-document window MRR (files never trained on).
sel_idx = val_idx[kind[val_idx] != 2]
if len(sel_idx) < 2:
    sel_idx = val_idx
t1 = time.time()
metrics = {'lod1': {}, 'lod2': {}}
lod1.train()
run = np.zeros(3)
best = (-1.0, 0, None)
curve = []
for step in range(1, STEPS1 + 1):
    run += np.array(lod1_step())
    every = 2 if args.smoke else 50
    if step % every == 0 or step == STEPS1:
        k = every if step % every == 0 else step % every
        log(f'LOD1 step {step}/{STEPS1} nce {run[0] / k:.3f} rec {run[1] / k:.3f} sal {run[2] / k:.3f}')
        run[:] = 0
    if step % EVAL_EVERY == 0 or step == STEPS1:
        w = eval_windows(sel_idx)
        curve.append([step, round(w['mrr'], 4)])
        if w['mrr'] > best[0]:
            best = (w['mrr'], step, {k_: v.detach().clone() for k_, v in lod1.state_dict().items()})
        log(f'LOD1 step {step} held-out window MRR {w["mrr"]:.3f} (R@1 {w["recall@1"]:.3f}, random {w["random_mrr"]:.3f}; best {best[0]:.3f} @ {best[1]})')
if best[2] is not None:
    lod1.load_state_dict(best[2])
if args.lod1_v3:
    metrics['lod1']['v3_state'] = args.lod1_v3
    del lod1.emb
metrics['lod1']['train_seconds'] = time.time() - t1
metrics['lod1']['steps'] = STEPS1
metrics['lod1']['best_step'] = best[1]
metrics['lod1']['selection_curve'] = curve
t_eval = time.time()
cap_all = 10 ** 9 if not args.smoke and args.eval_cap is None else EVAL_CAP
k0_train = train_idx[kind[train_idx] == 0]
k0_val = val_idx[kind[val_idx] == 0]
metrics['lod1']['train_eval'] = eval_lod1(rng.permutation(k0_train if len(k0_train) else train_idx), EVAL_CAP)
# 'heldout_eval': held-out Python def docstrings only (the v1 protocol; comparable across versions)
metrics['lod1']['heldout_eval'] = eval_lod1(k0_val if len(k0_val) else val_idx, cap_all)
js_val = val_idx[(kind[val_idx] == 2) & (n_blocks[val_idx] <= 1000)]  # documents of <= 32k tokens keep this cheap
metrics['lod1']['heldout_eval_jsdoc'] = eval_lod1(rng.permutation(js_val), EVAL_CAP if args.smoke else 100)
metrics['lod1']['heldout_windows_python'] = eval_windows(sel_idx)
metrics['lod1']['heldout_windows_def'] = eval_windows(k0_val)
metrics['lod1']['heldout_windows_jsdoc'] = eval_windows(val_idx[kind[val_idx] == 2])
metrics['lod1']['train_windows_def_sample'] = eval_windows(rng.permutation(k0_train)[:len(k0_val)])
metrics['lod1']['eval_seconds'] = time.time() - t_eval
log('LOD1 train   ' + json.dumps(metrics['lod1']['train_eval']))
log('LOD1 heldout ' + json.dumps(metrics['lod1']['heldout_eval']))
for k_ in ('heldout_eval_jsdoc', 'heldout_windows_python', 'heldout_windows_def', 'heldout_windows_jsdoc', 'train_windows_def_sample'):
    log(f'LOD1 {k_} ' + json.dumps(metrics['lod1'][k_]))
lod1.eval()
for p in lod1.parameters():
    p.requires_grad_(False)

# ---------------------------------------------------------------- LOD2
# Per file, a base document with ALL paired docstrings removed; its blocks are encoded once by the
# frozen LOD1 and grouped by 32 (1024 tokens). A pair's positive group holds its def line.
t2 = time.time()
base_docs, base_gists, def_base = [], [], np.zeros(len(pairs), dtype=np.int64)
ranges_by_file = {}
for p in range(len(pairs)):
    ranges_by_file.setdefault(int(pairs[p, 0]), []).append((int(pairs[p, 1]), int(pairs[p, 2])))
for fi in range(len(files)):
    rs = sorted(set(ranges_by_file.get(fi, [])))
    t = file_tok[fi]
    keep = np.ones(len(t), dtype=bool)
    for a, b in rs:
        keep[a:b] = False
    base_docs.append(t[keep])
for p in range(len(pairs)):
    fi, d = int(pairs[p, 0]), int(pairs[p, 3])
    removed = sum(b - a for a, b in sorted(set(ranges_by_file[fi])) if b <= d)
    def_base[p] = d - removed
with torch.no_grad():
    for fi in range(len(files)):
        bd = base_docs[fi]
        base_gists.append(encode_blocks(lod1, [bd[b:b + BT] for b in range(0, len(bd), BT)]))
    q_all = torch.cat([lod1(*pad_rows([query_tokens(p) for p in range(i, min(i + 1024, len(pairs)))]))[0]
                       for i in range(0, len(pairs), 1024)])
n_groups = np.array([(g.shape[0] + GB - 1) // GB for g in base_gists])
pos_group = def_base // (BT * GB)
log(f'LOD2 inputs: {sum(g.shape[0] for g in base_gists)} block gists, {int(n_groups.sum())} groups ({time.time() - t2:.1f}s)')


def group_children(fi, g):
    ch = base_gists[fi][g * GB:(g + 1) * GB]
    x = torch.zeros(GB, D)
    m = torch.zeros(GB)
    x[:ch.shape[0]] = ch
    m[:ch.shape[0]] = 1.0
    return x, m


def group_bag_rows(fi, g):
    return base_docs[fi][g * GB * BT:(g + 1) * GB * BT]


lod2 = nets.GistLOD2()
recon2 = nn.Linear(D, REC_V)
opt2 = torch.optim.AdamW(list(lod2.parameters()) + list(recon2.parameters()), lr=2e-3, weight_decay=0.01)
sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, lambda s: nets.lr_shape(s, STEPS2))
log(f'LOD2 params {nets.count_params(lod2)} (+{nets.count_params(recon2)} training-only recon head)')


def lod2_step():
    B, H = min(args.batch, len(train_idx)), 3
    ps = rng.choice(train_idx, size=B, replace=False)
    xs, ms, valid, bag_rows = [], [], [], []
    for p in ps:
        fi = int(pairs[p, 0])
        x, m = group_children(fi, pos_group[p])
        xs.append(x)
        ms.append(m)
        bag_rows.append(group_bag_rows(fi, pos_group[p]))
    for p in ps:
        fi = int(pairs[p, 0])
        others = [g for g in range(n_groups[fi]) if g != pos_group[p]]
        for h in range(H):
            if others:
                g = others[rng.randint(len(others))]
                x, m = group_children(fi, g)
                valid.append(1.0)
            else:
                x, m = xs[0], ms[0]
                valid.append(0.0)
            xs.append(x)
            ms.append(m)
    gg, _ = lod2(torch.stack(xs), torch.stack(ms))
    raw_pos = lod2.forward_raw(torch.stack(xs[:B]), torch.stack(ms[:B]))[0]
    pg, ng = gg[:B], gg[B:].reshape(B, H, D)
    q = q_all[torch.from_numpy(ps)]
    fi = pairs[ps, 0]
    same = torch.from_numpy((fi[:, None] == fi[None, :]) & (pos_group[ps][:, None] == pos_group[ps][None, :]) & ~np.eye(B, dtype=bool))
    l_in = ((q @ pg.T) / args.tau).masked_fill(same, -1e4)
    l_hard = (torch.einsum('bd,bhd->bh', q, ng) / args.tau).masked_fill(torch.tensor(valid).reshape(B, H) == 0, -1e4)
    target = torch.arange(B)
    loss_nce = Fn.cross_entropy(torch.cat([l_in, l_hard], 1), target)
    bags = bag(bag_rows)
    loss_rec = -(bags * Fn.log_softmax(recon2(nets.l2norm(raw_pos)) * 10.0, -1)).sum(-1).mean()
    loss = loss_nce + 0.5 * loss_rec
    opt2.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(lod2.parameters(), 1.0)
    opt2.step()
    sched2.step()
    return float(loss_nce), float(loss_rec)


@torch.no_grad()
def eval_lod2(idx):
    lod2.eval()
    idx = [p for p in idx if n_groups[pairs[p, 0]] >= 2]
    r1 = mrr = rnd_r1 = rnd_mrr = 0.0
    cache = {}
    for p in idx:
        fi = int(pairs[p, 0])
        if fi not in cache:
            xs, ms = zip(*[group_children(fi, g) for g in range(n_groups[fi])])
            cache[fi] = lod2(torch.stack(xs), torch.stack(ms))[0]
        rank = rank_stats((cache[fi] @ q_all[p]).numpy(), pos_group[p])
        r1 += rank == 1.0
        mrr += 1.0 / rank
        n = n_groups[fi]
        rnd_r1 += 1.0 / n
        rnd_mrr += float(np.sum(1.0 / np.arange(1, n + 1))) / n
    n = max(len(idx), 1)
    lod2.train()
    return {'pairs': len(idx), 'recall@1': r1 / n, 'mrr': mrr / n,
            'mean_groups': float(np.mean([n_groups[pairs[p, 0]] for p in idx])) if idx else 0.0,
            'random_recall@1': rnd_r1 / n, 'random_mrr': rnd_mrr / n}


t2 = time.time()
lod2.train()
run = np.zeros(2)
for step in range(1, STEPS2 + 1):
    run += np.array(lod2_step())
    every = 2 if args.smoke else 25
    if step % every == 0 or step == STEPS2:
        k = every if step % every == 0 else step % every
        log(f'LOD2 step {step}/{STEPS2} nce {run[0] / k:.3f} rec {run[1] / k:.3f}')
        run[:] = 0
metrics['lod2']['train_seconds'] = time.time() - t2
metrics['lod2']['steps'] = STEPS2
metrics['lod2']['train_eval'] = eval_lod2(list(train_idx))
metrics['lod2']['heldout_eval'] = eval_lod2(list(val_idx[kind[val_idx] == 0]) if (kind[val_idx] == 0).any() else list(val_idx))
metrics['lod2']['heldout_eval_all_kinds'] = eval_lod2(list(val_idx))
log('LOD2 train   ' + json.dumps(metrics['lod2']['train_eval']))
log('LOD2 heldout ' + json.dumps(metrics['lod2']['heldout_eval']))
lod2.eval()

# ---------------------------------------------------------------- export
torch.save(lod1.state_dict(), os.path.join(state_dir, 'lod1.pt'))
torch.save(lod2.state_dict(), os.path.join(state_dir, 'lod2.pt'))
nets.export_lod1(lod1, os.path.join(args.out, 'gistnet-lod1.onnx'))
nets.export_lod2(lod2, os.path.join(args.out, 'gistnet-lod2.onnx'))
metrics['params'] = {'lod1': nets.count_params(lod1), 'lod2': nets.count_params(lod2)}
metrics['data'] = {k: header[k] for k in ('nFiles', 'nTokens', 'nPairs', 'nValPairs', 'smoke')}
metrics['data']['trainPairs'] = int(len(train_idx))
metrics['data']['heldoutPairs'] = int(len(val_idx))
metrics['hyper'] = {k_: v for k_, v in vars(args).items() if k_ not in ('data', 'out', 'state')}
metrics['data']['pairsByKind'] = {'train': np.bincount(kind[train_idx], minlength=4).tolist(), 'heldout': np.bincount(kind[val_idx], minlength=4).tolist()}
metrics['total_seconds'] = time.time() - T_START
json.dump(metrics, open(os.path.join(state_dir, 'gist-metrics.json'), 'w'), indent=1)
log(f'exported gistnet-lod1.onnx, gistnet-lod2.onnx to {args.out}')
