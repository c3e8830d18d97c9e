"""Hard negatives mined by a trained GistNet v3 LOD1 (issue #19: "hard negatives mined by the model itself").

`train_v3.py --mined-negs-from STATE.pt` calls `mine`: for each training pair, the codes of other files that the
model ranks closest to the pair's query; a random one of the `top` best, skipping near-copies of the pair's own code
(cosine of the two codes' gists above `dup`), so a negative is a code that looks right to the model and is not the
answer. Candidates are a seeded pool of training codes; dev and held-out pairs are never read.
"""
import time

import numpy as np
import torch


@torch.no_grad()
def encode(model, rows, bs=8192):
    out = []
    for s in range(0, len(rows), bs):
        t = torch.from_numpy(rows[s:s + bs])
        out.append(model(t, (t != 0).float())[0])
    return torch.cat(out)


@torch.no_grad()
def mine(model, q_all, c_all, files, train_idx, pool=40000, top=10, dup=0.9, seed=1234, log=print):
    """int32 [N]: a mined negative (a pair index) per training pair, -1 for the others."""
    model.eval()
    t0 = time.time()
    rng = np.random.RandomState(seed)
    pool_idx = train_idx if len(train_idx) <= pool else np.sort(rng.choice(train_idx, pool, replace=False))
    cp = encode(model, c_all[pool_idx])
    pool_file = torch.from_numpy(files[pool_idx].astype(np.int64))
    negs = np.full(len(q_all), -1, dtype=np.int32)
    bs = 1024
    for s in range(0, len(train_idx), bs):
        if s % (bs * 64) == 0:
            log(f'mining negatives: {s}/{len(train_idx)} ({time.time() - t0:.0f} s)')
        idx = train_idx[s:s + bs]
        qg, cg = encode(model, q_all[idx]), encode(model, c_all[idx])
        sim = qg @ cp.T
        # not the pair's own file (its codes are the same-file negatives already), not a copy of its code
        sim[torch.from_numpy(files[idx].astype(np.int64))[:, None] == pool_file[None, :]] = -2
        sim[(cg @ cp.T) > dup] = -2
        best = torch.topk(sim, top, dim=1)
        pick = torch.from_numpy(rng.randint(0, top, size=len(idx)))
        rows = torch.arange(len(idx))
        chosen = best.indices[rows, pick].numpy()
        ok = best.values[rows, pick].numpy() > -2
        negs[idx[ok]] = pool_idx[chosen[ok]]
    log(f'mined negatives: {int((negs >= 0).sum())} of {len(train_idx)} training pairs, pool {len(pool_idx)}, top {top}, {time.time() - t0:.0f} s')
    model.train()
    return negs
