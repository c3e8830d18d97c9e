"""Train LensNet on models/training/.data/lens (written by lens-data.ts) and export lensnet.onnx.

  /usr/bin/python3 models/training/train_lensnet.py --data DIR --out DIR [--smoke] [--steps N]

Reads header.json {F, D, examples:[{n,t}], featureNames}, entries.f32 [sum n, F], tail.f32 [sum t, D],
targets.f32 [sum n], legal.u8 [sum n] (bit0 may expand, bit1 may collapse).
Loss = smooth-L1 regression on targets + pairwise ranking within an example + legality penalty
(may-not-expand scores pushed <= 0, may-not-collapse pushed >= 0) + mild budget balance (mean score
per example near 0). Writes DIR/lensnet.onnx, DIR/.state/lens.pt, DIR/.state/lens-metrics.json.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as Fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--data', required=True)
ap.add_argument('--out', required=True)
ap.add_argument('--smoke', action='store_true')
ap.add_argument('--state', default=None, help='where .pt state dicts and metrics go (default OUT/.state)')
ap.add_argument('--seed', type=int, default=4321)
ap.add_argument('--steps', type=int, default=None)
ap.add_argument('--batch', type=int, default=8)
args = ap.parse_args()
nets.seed_everything(args.seed)
rng = np.random.RandomState(args.seed)
T0 = time.time()


def log(msg):
    print(f'[lensnet {time.time() - T0:6.1f}s] {msg}', flush=True)


h = json.load(open(os.path.join(args.data, 'header.json')))
F, D = int(h['F']), int(h['D'])
assert D == nets.D, f'header D={D}, model D={nets.D}'
ex = h['examples']
ns = np.array([e['n'] for e in ex], dtype=np.int64)
ts = np.array([e['t'] for e in ex], dtype=np.int64)
entries = np.fromfile(os.path.join(args.data, 'entries.f32'), dtype='<f4').reshape(-1, F)
tail = np.fromfile(os.path.join(args.data, 'tail.f32'), dtype='<f4').reshape(-1, D)
targets = np.fromfile(os.path.join(args.data, 'targets.f32'), dtype='<f4')
legal = np.fromfile(os.path.join(args.data, 'legal.u8'), dtype=np.uint8)
assert entries.shape[0] == ns.sum() == targets.shape[0] == legal.shape[0], 'entries/targets/legal length mismatch'
assert tail.shape[0] == ts.sum(), 'tail length mismatch'
n_off = np.concatenate([[0], np.cumsum(ns)])
t_off = np.concatenate([[0], np.cumsum(ts)])
synthetic = bool(h.get('synthetic', False))
# Held-out split: every 10th example (never trained on).
is_val = np.arange(len(ex)) % 10 == 9
if is_val.all() or not is_val.any():
    is_val = np.zeros(len(ex), dtype=bool)
train_ex = np.nonzero(~is_val)[0]
val_ex = np.nonzero(is_val)[0]
STEPS = args.steps if args.steps is not None else (6 if args.smoke else 300)
log(f'{len(ex)} examples ({len(train_ex)} train, {len(val_ex)} held-out), F={F}, '
    f'{int(ns.sum())} entries{" [SYNTHETIC DATA]" if synthetic else ""}')


def batch(ids):
    N, T = int(ns[ids].max()), int(max(1, ts[ids].max()))
    B = len(ids)
    e = np.zeros((B, N, F), np.float32)
    em = np.zeros((B, N), np.float32)
    t = np.zeros((B, T, D), np.float32)
    tm = np.zeros((B, T), np.float32)
    y = np.zeros((B, N), np.float32)
    lg = np.zeros((B, N), np.uint8)
    for i, k in enumerate(ids):
        n, tt = ns[k], ts[k]
        e[i, :n] = entries[n_off[k]:n_off[k + 1]]
        em[i, :n] = 1
        t[i, :tt] = tail[t_off[k]:t_off[k + 1]]
        tm[i, :tt] = 1
        y[i, :n] = targets[n_off[k]:n_off[k + 1]]
        lg[i, :n] = legal[n_off[k]:n_off[k + 1]]
    return [torch.from_numpy(a) for a in (e, em, t, tm, y, lg)]


model = nets.LensNet(F)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: nets.lr_shape(s, STEPS))
log(f'LensNet params {nets.count_params(model)}')


def losses(s, em, y, lg):
    # Entries worth expanding are rare (a few per context): weight them up to balance the regression,
    # so a positive utility gets a positive score instead of the negatives' mean.
    pos = (y > 0).float() * em
    w_pos = ((em.sum() - pos.sum()) / pos.sum().clamp_min(1.0)).clamp(1.0, 20.0)
    w = em * (1.0 + (w_pos - 1.0) * pos)
    reg = (Fn.smooth_l1_loss(s, y, reduction='none', beta=0.5) * w).sum() / w.sum()
    # Pairwise ranking: i above j when y_i > y_j + 0.1.
    diff_y = y.unsqueeze(2) - y.unsqueeze(1)
    pm = ((diff_y > 0.1).float() * em.unsqueeze(2) * em.unsqueeze(1))
    diff_s = s.unsqueeze(2) - s.unsqueeze(1)
    rank = (Fn.softplus(-4.0 * diff_s) * pm).sum() / pm.sum().clamp_min(1.0)
    no_exp = ((lg & 1) == 0).float() * em
    no_col = ((lg & 2) == 0).float() * em
    # LOD0 cannot expand, but a positive LOD0 score only means "keep it": the allocator never expands
    # LOD0, so only the top level's inability to collapse is penalised.
    del no_exp
    legal_pen = ((Fn.relu(-s) ** 2) * no_col).sum() / em.sum()
    mean_s = (s * em).sum(1) / em.sum(1).clamp_min(1.0)
    budget = (mean_s ** 2).mean()
    return reg, rank, legal_pen, budget


@torch.no_grad()
def evaluate(ids):
    model.eval()
    out = {'examples': int(len(ids))}
    if len(ids) == 0:
        model.train()
        return out
    mae = agree = cnt = illegal = n_all = 0.0
    taus = []
    for k in ids:
        e, em, t, tm, y, lg = batch([k])
        s = model(e, em, t, tm)
        m = em > 0
        mae += float((s - y).abs()[m].sum())
        agree += float(((s > 0) == (y > 0))[m].float().sum())
        illegal += float((((s > 0) & ((lg & 1) == 0)) | ((s < 0) & ((lg & 2) == 0)))[m].float().sum())
        n_all += float(m.sum())
        sv, yv = s[m].numpy(), y[m].numpy()
        if len(sv) > 1:
            ii, jj = np.triu_indices(len(sv), 1)
            dy = np.sign(yv[ii] - yv[jj])
            ds = np.sign(sv[ii] - sv[jj])
            nz = dy != 0
            if nz.any():
                taus.append(float((dy[nz] * ds[nz]).mean()))
        cnt += 1
    out.update({'mae': mae / n_all, 'sign_agreement': agree / n_all, 'illegal_sign_rate': illegal / n_all,
                'kendall_tau_mean': float(np.mean(taus)) if taus else None})
    model.train()
    return out


model.train()
run = np.zeros(4)
every = 2 if args.smoke else 100
for step in range(1, STEPS + 1):
    ids = rng.choice(train_ex, size=min(args.batch, len(train_ex)), replace=False)
    e, em, t, tm, y, lg = batch(ids)
    s = model(e, em, t, tm)
    reg, rank, lp, bud = losses(s, em, y, lg)
    loss = reg + 0.5 * rank + 1.0 * lp + 0.1 * bud
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    run += np.array([float(reg), float(rank), float(lp), float(bud)])
    if step % every == 0 or step == STEPS:
        k = every if step % every == 0 else step % every
        log(f'step {step}/{STEPS} reg {run[0] / k:.4f} rank {run[1] / k:.4f} legal {run[2] / k:.4f} budget {run[3] / k:.4f}')
        run[:] = 0
train_seconds = time.time() - T0
metrics = {'synthetic': synthetic, 'F': F, 'featureNames': h.get('featureNames', []), 'steps': STEPS,
           'examples': len(ex), 'params': nets.count_params(model), 'train_seconds': train_seconds,
           'train_eval': evaluate(train_ex[:50]), 'heldout_eval': evaluate(val_ex)}
log('train   ' + json.dumps(metrics['train_eval']))
log('heldout ' + json.dumps(metrics['heldout_eval']))
model.eval()
state_dir = args.state or os.path.join(args.out, '.state')
os.makedirs(state_dir, exist_ok=True)
torch.save({'F': F, 'state': model.state_dict()}, os.path.join(state_dir, 'lens.pt'))
nets.export_lens(model, os.path.join(args.out, 'lensnet.onnx'))
json.dump(metrics, open(os.path.join(state_dir, 'lens-metrics.json'), 'w'), indent=1)
log(f'exported lensnet.onnx to {args.out}')
