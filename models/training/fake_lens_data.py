"""SYNTHETIC LensNet dataset -- for the smoke test of the Python code path ONLY.

  /usr/bin/python3 models/training/fake_lens_data.py --out DIR [--examples N] [--seed S]

Writes exactly the format of the real builder (models/training/lens-data.ts):
  header.json  {"F", "D": 128, "examples": [{"n", "t"}...], "featureNames": [...], "synthetic": true}
  entries.f32  float32 LE [sum n, F]   (gist[128] ++ K extra features)
  tail.f32     float32 LE [sum t, 128]
  targets.f32  float32 LE [sum n]      utility in [-1, 1]
  legal.u8     uint8 [sum n]           bit0 = may expand, bit1 = may collapse
The targets are a made-up function of the features (similarity to the tail, lexical evidence, LOD);
a model trained on this data is NOT a product model.
"""
import argparse
import json
import os

import numpy as np

FEATURES = ['lod', 'log_span_tokens', 'position', 'recency', 'lexical_hits', 'lexical_density']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--examples', type=int, default=64)
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--max-n', type=int, default=300)
    a = ap.parse_args()
    rng = np.random.RandomState(a.seed)
    D, K = 128, len(FEATURES)
    F = D + K
    ex, E, T, Y, L = [], [], [], [], []
    for _ in range(a.examples):
        n, t = int(rng.randint(1, a.max_n + 1)), int(rng.randint(1, 8))
        tail = rng.randn(t, D).astype(np.float32)
        tail /= np.linalg.norm(tail, axis=1, keepdims=True)
        g = rng.randn(n, D).astype(np.float32)
        topic = tail.mean(0)
        mix = rng.rand(n, 1).astype(np.float32) ** 3
        g = g / np.linalg.norm(g, axis=1, keepdims=True) * (1 - mix) + topic * mix * 3
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        lod = rng.randint(0, 3, size=n).astype(np.float32)
        span = np.log2(32.0 ** lod * rng.uniform(0.5, 1.0, size=n)).astype(np.float32) / 10
        pos = np.linspace(0, 1, n, dtype=np.float32)
        rec = rng.rand(n).astype(np.float32)
        hits = rng.poisson(2 * mix[:, 0] + 0.1).astype(np.float32)
        dens = hits / (1 + 32.0 ** lod) * 10
        sim = g @ topic / (np.linalg.norm(topic) + 1e-6)
        y = np.tanh(2.0 * sim + 0.5 * np.log1p(hits) - 0.4 + 0.2 * lod - 0.3 * rec).astype(np.float32)
        legal = np.where(lod > 0, 1, 0) | np.where(lod < 2, 2, 0)
        E.append(np.concatenate([g, np.stack([lod, span, pos, rec, hits, dens], 1)], 1).astype(np.float32))
        T.append(tail)
        Y.append(y)
        L.append(legal.astype(np.uint8))
        ex.append({'n': n, 't': t})
    os.makedirs(a.out, exist_ok=True)
    np.concatenate(E).astype('<f4').tofile(os.path.join(a.out, 'entries.f32'))
    np.concatenate(T).astype('<f4').tofile(os.path.join(a.out, 'tail.f32'))
    np.concatenate(Y).astype('<f4').tofile(os.path.join(a.out, 'targets.f32'))
    np.concatenate(L).astype(np.uint8).tofile(os.path.join(a.out, 'legal.u8'))
    json.dump({'F': F, 'D': D, 'examples': ex, 'featureNames': FEATURES, 'synthetic': True,
               'note': 'SYNTHETIC data from fake_lens_data.py; for smoke tests of the recipe only'},
              open(os.path.join(a.out, 'header.json'), 'w'))
    print(f'fake_lens_data: SYNTHETIC LensNet dataset, {len(ex)} examples, F={F} -> {a.out}')


if __name__ == '__main__':
    main()
