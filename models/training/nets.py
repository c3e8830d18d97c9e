"""GistNet (LOD1, LOD2) and LensNet definitions, shared by training, export and reference output.

Everything here is plain PyTorch ops that export to ONNX opset 17 and run in onnxruntime-node.
"""
import math
import os
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

D = 128
VOCAB_BUCKETS = 16384
BLOCK_TOKENS = 32
GROUP_BLOCKS = 32


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(int(os.environ.get("GIST_THREADS", "1")))
    try:
        torch.use_deterministic_algorithms(True)
    except Exception:  # pragma: no cover
        pass


def l2norm(x):
    return x / torch.sqrt((x * x).sum(-1, keepdim=True) + 1e-12)


class Attention(nn.Module):
    """Multi-head attention of x [B,L,d] over ctx [B,S,d] with key mask [B,S] (1 valid, 0 pad)."""

    def __init__(self, d=D, heads=4):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.o = nn.Linear(d, d)

    def forward(self, x, ctx, ctx_mask):
        b = x.shape[0]
        q = self.q(x).reshape(b, -1, self.h, self.dh).transpose(1, 2)
        k = self.k(ctx).reshape(b, -1, self.h, self.dh).transpose(1, 2)
        v = self.v(ctx).reshape(b, -1, self.h, self.dh).transpose(1, 2)
        att = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(self.dh))
        att = att + ((ctx_mask - 1.0) * 1.0e4).unsqueeze(1).unsqueeze(2)
        att = torch.softmax(att, dim=-1)
        out = torch.matmul(att, v).transpose(1, 2).reshape(b, -1, self.h * self.dh)
        return self.o(out)


class Block(nn.Module):
    """Pre-LN transformer layer; cross=True attends to a second sequence instead of itself."""

    def __init__(self, d=D, heads=4, ff=256):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.ln_ctx = nn.LayerNorm(d)
        self.att = Attention(d, heads)
        self.ln2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

    def forward(self, x, mask, ctx=None, ctx_mask=None):
        h = self.ln1(x)
        if ctx is None:
            x = x + self.att(h, h, mask)
        else:
            x = x + self.att(h, self.ln_ctx(ctx), ctx_mask)
        return x + self.ff(self.ln2(x))


class AttnPool(nn.Module):
    """Attention pooling with a learned query; the pooling weights are the salience."""

    def __init__(self, d=D):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.key = nn.Linear(d, d)
        self.val = nn.Linear(d, d)
        self.query = nn.Parameter(torch.randn(d) * 0.02)
        self.out = nn.Linear(d, d)

    def forward(self, h, mask):
        h = self.ln(h)
        logits = torch.matmul(self.key(h), self.query) * (1.0 / math.sqrt(D)) + (mask - 1.0) * 1.0e4
        w = torch.softmax(logits, dim=-1) * mask
        w = w / (w.sum(-1, keepdim=True) + 1e-9)
        pooled = torch.matmul(w.unsqueeze(1), self.val(h)).squeeze(1)
        return self.out(pooled), w


class GistEncoder(nn.Module):
    """Shared trunk: positional embedding + transformer layers + attention pooling."""

    def __init__(self, layers, d=D, length=32):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(length, d) * 0.02)
        self.layers = nn.ModuleList([Block(d) for _ in range(layers)])
        self.pool = AttnPool(d)

    def encode(self, x, mask):
        x = x + self.pos
        for layer in self.layers:
            x = layer(x, mask)
        raw, w = self.pool(x, mask)
        return raw, w


class GistLOD1(GistEncoder):
    """tokens int64 [B,32] (raw o200k ids), mask float [B,32] -> gist [B,128] (L2), salience [B,32]."""

    def __init__(self, emb=64, layers=2):
        super().__init__(layers)
        self.emb = nn.Embedding(VOCAB_BUCKETS, emb)
        nn.init.normal_(self.emb.weight, std=0.1)
        self.proj = nn.Linear(emb, D)

    def forward_raw(self, tokens, mask):
        ids = torch.remainder(tokens, VOCAB_BUCKETS)
        return self.encode(self.proj(self.emb(ids)), mask)

    def forward(self, tokens, mask):
        raw, w = self.forward_raw(tokens, mask)
        return l2norm(raw), w


def prime_below(n):
    """The largest prime smaller than n (16,384 -> 16,381; 32,768 -> 32,749)."""
    k = n - 1
    while k > 2 and any(k % f == 0 for f in range(2, int(k ** 0.5) + 1)):
        k -= 1
    return k


def lod1v3_from_state(sd, sparse=False):
    """A GistLOD1V3 shaped like the state dict `sd` (tables, bigram, key map), ready for load_state_dict."""
    heads = sd['sal.weight'].shape[0]
    hidden = sd['hid.weight'].shape[0] if 'hid.weight' in sd else 0
    return GistLOD1V3(bigram='eb.weight' in sd, sparse=sparse, keymap=True if 'keymap' in sd else None,
                      buckets=sd['e1.weight'].shape[0], heads=heads, hidden=hidden)


class GistLOD1V3(nn.Module):
    """GistNet v3 LOD1 (same contract as GistLOD1): a hashed bag of embeddings with attention pooling.

    token i -> e_i = E1[id % N1] + E2[id % N2] (+ EB[(id_i * 200003 + id_(i+1)) % N1] when the next
    token is valid, bigram=True); salience w = softmax over valid tokens of (e_i . u + pos_i), padded = 0;
    gist = L2(out(sum_i w_i e_i)). No token-to-token attention: one gather per table and two small GEMMs.
    heads > 1: H salience vectors and position biases pool H vectors, concatenated before `out` (128·H → 128);
    hidden > 0: out is an MLP (128·H → hidden → GELU → 128). Both cost per block, not per token. The salience
    output is then the mean of the heads' weights (still sums to 1 over valid tokens).
    N1 = `buckets` (16,384 until round 15), N2 = the largest prime below it (16,381): together the two rows
    name every key below N1·N2 apart.
    """

    BIG_MUL = 200003
    O200K = 200019

    def __init__(self, d=D, bigram=True, sparse=False, keymap=None, buckets=VOCAB_BUCKETS, heads=1, hidden=0, query_tables=0):
        super().__init__()
        self.bigram = bigram
        self.heads = int(heads)
        self.hidden = int(hidden)
        self.n1 = int(buckets)
        self.n2 = prime_below(self.n1)
        # keymap: o200k id -> normalised key number (models/training/v3/keymap.mjs), applied before hashing;
        # True allocates it (to be filled by load_state_dict)
        if keymap is True:
            keymap = torch.zeros(self.O200K, dtype=torch.int64)
        if keymap is not None:
            self.register_buffer('keymap', torch.as_tensor(keymap, dtype=torch.int64))
        else:
            self.keymap = None
        self.e1 = nn.Embedding(self.n1, d, sparse=sparse)
        self.e2 = nn.Embedding(self.n2, d, sparse=sparse)
        for e in (self.e1, self.e2):
            nn.init.normal_(e.weight, std=0.05)
        if bigram:
            self.eb = nn.Embedding(self.n1, d, sparse=sparse)
            nn.init.normal_(self.eb.weight, std=0.02)
        # query_tables (an asymmetric query side, as CodeSearchNet's encoders are): 1 adds a residual table
        # qr, zero at the start, to E1 for queries only; 2 gives queries their own qe1/qe2 tables. Either way
        # the query encoder is this graph with other tables (query_state()), and codes are encoded as before.
        self.query_tables = int(query_tables)
        if self.query_tables == 1:
            self.qr = nn.Embedding(self.n1, d, sparse=sparse)
            nn.init.zeros_(self.qr.weight)
        elif self.query_tables == 2:
            self.qe1 = nn.Embedding(self.n1, d, sparse=sparse)
            self.qe2 = nn.Embedding(self.n2, d, sparse=sparse)
            for e in (self.qe1, self.qe2):
                nn.init.normal_(e.weight, std=0.05)
        self.sal = nn.Linear(d, self.heads)
        # one head keeps the round 10-15 state shapes (pos [32], out 128 -> 128)
        self.pos = nn.Parameter(torch.zeros(BLOCK_TOKENS) if self.heads == 1 else torch.zeros(self.heads, BLOCK_TOKENS))
        if self.hidden:
            self.hid = nn.Linear(d * self.heads, self.hidden)
            self.out = nn.Linear(self.hidden, d)
        else:
            self.out = nn.Linear(d * self.heads, d)

    def embed(self, tokens, mask, query=False):
        if self.keymap is not None:
            tokens = self.keymap[torch.remainder(tokens, self.O200K)]
        r1, r2 = torch.remainder(tokens, self.n1), torch.remainder(tokens, self.n2)
        if self.query_tables == 2 and query:
            e = self.qe1(r1) + self.qe2(r2)
        else:
            e = self.e1(r1) + self.e2(r2)
            if self.query_tables == 1 and query:
                e = e + self.qr(r1)
        if self.bigram:
            nxt = torch.cat([tokens[:, 1:], torch.zeros_like(tokens[:, :1])], 1)
            nmask = torch.cat([mask[:, 1:], torch.zeros_like(mask[:, :1])], 1)
            e = e + self.eb(torch.remainder(tokens * self.BIG_MUL + nxt, self.n1)) * nmask.unsqueeze(-1)
        return e

    def forward(self, tokens, mask, query=False):
        e = self.embed(tokens, mask, query)
        m = mask.unsqueeze(1)  # [B,1,32]
        # [B,H,32]; one head's pos [32] broadcasts as its [1,32]
        logits = self.sal(e).transpose(1, 2) + self.pos + (m - 1.0) * 1.0e4
        wh = torch.softmax(logits, dim=-1) * m
        wh = wh / (wh.sum(-1, keepdim=True) + 1e-9)
        pooled = torch.matmul(wh, e).flatten(1)  # [B,H*d]
        w = wh.mean(1)
        if self.hidden:
            pooled = F.gelu(self.hid(pooled))
        return l2norm(self.out(pooled)), w


def query_state(sd):
    """The query encoder of a GistLOD1V3 state trained with query_tables: the same graph with the query side's
    tables as E1/E2 (a residual qr folds into E1); a state without query tables is returned as it is."""
    sd = dict(sd)
    if 'qr.weight' in sd:
        sd['e1.weight'] = sd['e1.weight'] + sd.pop('qr.weight')
    if 'qe1.weight' in sd:
        sd['e1.weight'], sd['e2.weight'] = sd.pop('qe1.weight'), sd.pop('qe2.weight')
    return sd


# Parameter-name prefixes of GistLOD1V3's embedding tables: the query side's, and all of them (trained sparse).
QUERY_TABLES = ('qr.', 'qe1.', 'qe2.')
TABLES = ('e1.', 'e2.', 'eb.') + QUERY_TABLES


def code_state(sd):
    """The code (block) encoder of a GistLOD1V3 state: its query tables dropped."""
    return {k: v for k, v in sd.items() if not k.startswith(QUERY_TABLES)}


class GistLOD2(GistEncoder):
    """children float [B,32,128] (LOD1 gists), mask [B,32] -> gist [B,128] (L2), salience [B,32]."""

    def __init__(self, layers=1):
        super().__init__(layers)
        self.proj = nn.Linear(D, D)

    def forward_raw(self, children, mask):
        return self.encode(self.proj(children), mask)

    def forward(self, children, mask):
        raw, w = self.forward_raw(children, mask)
        return l2norm(raw), w


class LensNet(nn.Module):
    """entries [B,N,F], entry_mask [B,N], tail [B,T,128], tail_mask [B,T] -> scores [B,N] in (-1,1).

    Entries are projected F->128; the tail attends to the entries and the entries attend to the
    updated tail (non-causal dual cross-attention), then a scalar tanh head. There is no
    entry-to-entry self-attention: its cost grows with the square of the working context (tens of
    thousands of entries on a large tree), and neighbourhood evidence arrives as features instead.
    """

    def __init__(self, features):
        super().__init__()
        self.features = features
        self.inp = nn.Sequential(nn.Linear(features, D), nn.GELU(), nn.Linear(D, D))
        self.tail_in = nn.Linear(D, D)
        self.tail_to_entries = Block(D)
        self.entries_to_tail = Block(D)
        self.head = nn.Sequential(nn.LayerNorm(D), nn.Linear(D, 64), nn.GELU(), nn.Linear(64, 1))

    def forward_logits(self, entries, entry_mask, tail, tail_mask):
        e = self.inp(entries)
        t = self.tail_in(tail)
        t = self.tail_to_entries(t, tail_mask, e, entry_mask)
        e = self.entries_to_tail(e, entry_mask, t, tail_mask)
        return self.head(e).squeeze(-1)

    def forward(self, entries, entry_mask, tail, tail_mask):
        return torch.tanh(self.forward_logits(entries, entry_mask, tail, tail_mask)) * entry_mask


def count_params(m):
    return int(sum(p.numel() for p in m.parameters()))


def export_onnx(model, args, path, input_names, output_names, dynamic_axes):
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, args, path, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=17, do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(path))


def export_lod1(model, path):
    tokens = torch.zeros(2, BLOCK_TOKENS, dtype=torch.int64)
    mask = torch.ones(2, BLOCK_TOKENS)
    export_onnx(model, (tokens, mask), path, ['tokens', 'mask'], ['gist', 'salience'],
                {'tokens': {0: 'B'}, 'mask': {0: 'B'}, 'gist': {0: 'B'}, 'salience': {0: 'B'}})


def export_lod2(model, path):
    children = torch.zeros(2, GROUP_BLOCKS, D)
    mask = torch.ones(2, GROUP_BLOCKS)
    export_onnx(model, (children, mask), path, ['children', 'mask'], ['gist', 'salience'],
                {'children': {0: 'B'}, 'mask': {0: 'B'}, 'gist': {0: 'B'}, 'salience': {0: 'B'}})


def export_lens(model, path):
    f = model.features
    args = (torch.zeros(1, 3, f), torch.ones(1, 3), torch.zeros(1, 2, D), torch.ones(1, 2))
    export_onnx(model, args, path, ['entries', 'entry_mask', 'tail', 'tail_mask'], ['scores'],
                {'entries': {0: 'B', 1: 'N'}, 'entry_mask': {0: 'B', 1: 'N'},
                 'tail': {0: 'B', 1: 'T'}, 'tail_mask': {0: 'B', 1: 'T'}, 'scores': {0: 'B', 1: 'N'}})


def lr_shape(step, total, warmup_frac=0.08):
    """Linear warm-up then cosine decay to 5%, as a multiplier of the base learning rate."""
    warm = max(1, int(total * warmup_frac))
    if step < warm:
        return (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
