"""Train LensNet v2, the focus plan's value model (src/core/valueModel.ts), and export lensnet-v2.onnx.

  /usr/bin/python3 models/training/train_value.py --data DIR --out DIR [--smoke] [--epochs N]

Reads DIR/rows.f32 [sum n, F], DIR/labels.u8 [sum n], DIR/meta.json {features, queries: [{suite, n, ...}]}
(written by models/training/value-data.ts). Per query the score of a block is s = log(plan value) + delta,
delta = MAX_DELTA * tanh(MLP(x) / MAX_DELTA); the loss is listwise: -log of the softmax mass on the
query's gold blocks (its answerable target), plus a small L2 on delta (stay near the plan where the data
says nothing). Suites weigh alike. The last layer starts at zero: step 0 is the plan exactly.
Early stopping on the validation queries (every 5th query of each suite, never trained on).
Writes OUT/lensnet-v2.onnx, adds files.value / valueFeatures / valueFeatureNames to OUT/models.json,
STATE/value.pt, STATE/value-metrics.json and models/training/value-reference.json (fixed inputs and the
PyTorch outputs, for the parity test).
"""
import argparse
import hashlib
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn

ap = argparse.ArgumentParser()
ap.add_argument('--data', required=True)
ap.add_argument('--out', required=True)
ap.add_argument('--state', default=None)
ap.add_argument('--reference', default=None, help='where the parity reference goes (default OUT/../models/training/value-reference.json for OUT=models)')
ap.add_argument('--smoke', action='store_true')
ap.add_argument('--epochs', type=int, default=None)
ap.add_argument('--hidden', type=int, default=32)
ap.add_argument('--seed', type=int, default=1234)
ap.add_argument('--l2', type=float, default=0.02)
args = ap.parse_args()
torch.manual_seed(args.seed)
np.random.seed(args.seed)
torch.set_num_threads(1)
T0 = time.time()
MAX_DELTA = 4.0  # valueModel.ts MAX_DELTA
LOG_VALUE = 2  # index of log_value in VALUE_FEATURE_NAMES


def log(msg):
    print(f'[value {time.time() - T0:6.1f}s] {msg}', flush=True)


meta = json.load(open(os.path.join(args.data, 'meta.json')))
names = meta['features']
F = len(names)
assert names[LOG_VALUE] == 'log_value'
rows = np.fromfile(os.path.join(args.data, 'rows.f32'), dtype='<f4').reshape(-1, F)
labels = np.fromfile(os.path.join(args.data, 'labels.u8'), dtype=np.uint8)
qs = meta['queries']
ns = np.array([q['n'] for q in qs], dtype=np.int64)
assert rows.shape[0] == ns.sum() == labels.shape[0]
off = np.concatenate([[0], np.cumsum(ns)])
suites = sorted({q['suite'] for q in qs})
# Validation: every 5th query of each suite.
seen = {s: 0 for s in suites}
is_val = np.zeros(len(qs), dtype=bool)
for i, q in enumerate(qs):
    is_val[i] = seen[q['suite']] % 5 == 4
    seen[q['suite']] += 1
usable = np.array([labels[off[i]:off[i + 1]].any() for i in range(len(qs))])
per_suite = {s: int(sum(1 for i, q in enumerate(qs) if q['suite'] == s and usable[i] and not is_val[i])) for s in suites}
weight = np.array([1.0 / max(1, per_suite[q['suite']]) for q in qs]) * (sum(per_suite.values()) / len(suites))
log(f'{len(qs)} queries ({int(usable.sum())} with gold among the scored blocks), {rows.shape[0]} rows, F={F}; train per suite {per_suite}')

train_rows = np.concatenate([rows[off[i]:off[i + 1]] for i in range(len(qs)) if not is_val[i]])
mu = train_rows.mean(0)
sd = train_rows.std(0)
sd[sd < 1e-6] = 1.0


class ValueNet(nn.Module):
    def __init__(self, f, h):
        super().__init__()
        self.register_buffer('mu', torch.tensor(mu, dtype=torch.float32))
        self.register_buffer('sd', torch.tensor(sd, dtype=torch.float32))
        self.l1 = nn.Linear(f, h)
        self.l2 = nn.Linear(h, h)
        self.out = nn.Linear(h, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        z = (x - self.mu) / self.sd
        z = torch.relu(self.l1(z))
        z = torch.relu(self.l2(z))
        return MAX_DELTA * torch.tanh(self.out(z).squeeze(-1) / MAX_DELTA)


net = ValueNet(F, args.hidden)
opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-3)
X = torch.tensor(rows)
Y = torch.tensor(labels.astype(np.bool_))


def query_loss(i, delta=None):
    a, b = off[i], off[i + 1]
    x = X[a:b]
    d = net(x) if delta is None else delta
    s = x[:, LOG_VALUE] + d
    y = Y[a:b]
    return torch.logsumexp(s, 0) - torch.logsumexp(s[y], 0), d


def evaluate(idx):
    """Mean listwise loss and the share of gold blocks ranked in the top 32 / the plan's at delta = 0, per suite."""
    out = {}
    with torch.no_grad():
        for s in suites:
            ids = [i for i in idx if qs[i]['suite'] == s]
            if not ids:
                continue
            loss = loss0 = hit = hit0 = gold = 0.0
            for i in ids:
                l, d = query_loss(i)
                l0, _ = query_loss(i, torch.zeros(int(ns[i])))
                loss += float(l)
                loss0 += float(l0)
                a, b = off[i], off[i + 1]
                y = Y[a:b]
                base = X[a:b, LOG_VALUE]
                k = min(32, int(ns[i]))
                hit += float(y[torch.topk(base + d, k).indices].sum())
                hit0 += float(y[torch.topk(base, k).indices].sum())
                gold += float(y.sum())
            out[s] = {'n': len(ids), 'loss': loss / len(ids), 'loss_plan': loss0 / len(ids), 'gold_top32': hit / max(1, gold), 'gold_top32_plan': hit0 / max(1, gold)}
    return out


train_idx = [i for i in range(len(qs)) if usable[i] and not is_val[i]]
val_idx = [i for i in range(len(qs)) if usable[i] and is_val[i]] or train_idx
epochs = args.epochs or (3 if args.smoke else 15)
batch = 16
best = (float('inf'), -1, None)
for ep in range(epochs):
    perm = np.random.permutation(train_idx)
    net.train()
    tot = 0.0
    for k in range(0, len(perm), batch):
        opt.zero_grad()
        loss = 0.0
        for i in perm[k:k + batch]:
            l, d = query_loss(i)
            loss = loss + weight[i] * (l + args.l2 * (d * d).mean())
        loss = loss / len(perm[k:k + batch])
        loss.backward()
        opt.step()
        tot += float(loss) * len(perm[k:k + batch])
    net.eval()
    ev = evaluate(val_idx)
    v = sum(r['loss'] for r in ev.values()) / len(ev)
    log(f'epoch {ep + 1}: train {tot / len(perm):.4f} val {v:.4f} ' + ' '.join(f"{s} {r['loss']:.3f}/{r['loss_plan']:.3f} top32 {r['gold_top32']:.3f}/{r['gold_top32_plan']:.3f}" for s, r in ev.items()))
    if v < best[0]:
        best = (v, ep + 1, {k: t.clone() for k, t in net.state_dict().items()})
net.load_state_dict(best[2])
net.eval()
log(f'best epoch {best[1]} (val loss {best[0]:.4f})')
metrics = {'bestEpoch': best[1], 'epochs': epochs, 'val': evaluate(val_idx), 'train': evaluate(train_idx),
           'queries': len(qs), 'usable': int(usable.sum()), 'rows': int(rows.shape[0]), 'hidden': args.hidden,
           'parameters': sum(p.numel() for p in net.parameters()), 'seconds': round(time.time() - T0, 1)}

os.makedirs(args.out, exist_ok=True)
state = args.state or os.path.join(args.out, '.state')
os.makedirs(state, exist_ok=True)
torch.save(net.state_dict(), os.path.join(state, 'value.pt'))
onnx_path = os.path.join(args.out, 'lensnet-v2.onnx')
torch.onnx.export(net, (torch.zeros(3, F),), onnx_path, input_names=['rows'], output_names=['delta'],
                  dynamic_axes={'rows': {0: 'n'}, 'delta': {0: 'n'}}, opset_version=17)
data = open(onnx_path, 'rb').read()
mj = os.path.join(args.out, 'models.json')
if os.path.exists(mj):
    m = json.load(open(mj))
    m.setdefault('files', {})['value'] = {'path': 'lensnet-v2.onnx', 'bytes': len(data), 'sha256': hashlib.sha256(data).hexdigest()}
    m['valueFeatures'] = F
    m['valueFeatureNames'] = names
    with open(mj, 'w') as f:
        json.dump(m, f, indent=2)
        f.write('\n')
# Parity reference: 6 validation rows and 2 extreme rows.
ref_rows = np.concatenate([rows[off[val_idx[0]]:off[val_idx[0]] + 6], np.full((1, F), 5.0, dtype=np.float32), np.zeros((1, F), dtype=np.float32)])
with torch.no_grad():
    ref_out = net(torch.tensor(ref_rows)).numpy()
ref = {'inputs': {'rows': {'dims': list(ref_rows.shape), 'data': [float(x) for x in ref_rows.reshape(-1)]}},
       'outputs': {'delta': {'dims': [int(ref_out.shape[0])], 'data': [float(x) for x in ref_out]}}, 'tolerance': 1e-4,
       'sha256': hashlib.sha256(data).hexdigest()}
ref_path = args.reference or os.path.join(state, 'value-reference.json')
with open(ref_path, 'w') as f:
    json.dump(ref, f)
with open(os.path.join(state, 'value-metrics.json'), 'w') as f:
    json.dump(metrics, f, indent=2)
log(f'wrote {onnx_path} ({len(data)} bytes), {ref_path}; metrics {json.dumps(metrics["val"])}')
