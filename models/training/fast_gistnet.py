"""Rewrite the exported LOD1 GistNet into the graph the product runs: int8 GEMMs, fused ops.

  /usr/bin/python3 models/training/fast_gistnet.py FP32.onnx OUT.onnx [--quant int8|none] [--table fp16|fp32]
                   [--per-tensor] [--bits 7|8]

Input: the plain PyTorch export of nets.GistLOD1 (tokens int64 [B,32], mask f32 [B,32] → gist [B,128],
salience [B,32]). Its weights are read by node name and the same function is rebuilt for
onnxruntime's CPU provider (operators of domain com.microsoft exist in every onnxruntime build):
  - Gather → Linear(64→128) becomes one Gather from the precomputed table emb @ W_proj + b_proj
    (16384 × 128, stored as float16 by default: 4 MB, as the 64-wide float32 embedding was);
  - attention: per head, Q, K and V come from their own GEMM straight into [B, S, 32], the scores from
    FusedMatMul (K transposed inside the GEMM, 1/√32 as its alpha), so no Reshape/Transpose of heads;
    the 4 heads' contexts are concatenated for the output GEMM;
  - BiasGelu (exact erf GELU) folds the first feed-forward bias;
  - attention pooling: key(h)·q = h·(W_k q) + b_k·q, and the constant b_k·q cancels in the softmax,
    so the key projection becomes one [128, 1] product; val and out are linear, so
    out(Σ w val(h)) = (Σ w h)(W_v W_out^T) + (Σ w)(b_v W_out^T) + b_out: two per-token GEMMs go.
These are exact in real arithmetic (float32 rounding: ≤ 3e-7 on gists).

--quant int8 (the default) stores the weights of every per-token GEMM (Q, K, V per head, attention
output, both feed-forward layers) as int8, symmetric (zero point 0), one scale per output column
(--per-tensor: one per matrix), in [-63, 63] (--bits 7, the default: on x86 CPUs without VNNI the
u8×s8 kernels add pairs of products in int16, which 7-bit weights cannot overflow, so every CPU
computes the same integers) or [-127, 127] (--bits 8). Activations are quantized on the fly to uint8,
per tensor over the whole batch (DynamicQuantizeLinear once per attention input, then
MatMulIntegerToFloat per head; DynamicQuantizeMatMul elsewhere), as onnxruntime's quantize_dynamic
does. A block's outputs therefore depend slightly on the other blocks of its batch (measured: gists
≤ 2.4e-3 abs, cosine ≥ 0.99996; the same size as the quantization error itself, and below the
int8 rounding the engine applies to stored gists).

Measured alternatives that were slower on onnxruntime-node 1.30 CPU (test/bench/gistnet.bench.ts):
com.microsoft Attention / QAttention (their per-(block, head) loop cost more than the per-head GEMMs
here), SkipLayerNormalization for the residual + LayerNorm pairs (slower than Add + LayerNormalization;
onnxruntime's own 'extended' fusion creates one, so the product loads this model at graph
optimization level 'basic': the graph is already fused), one QKV GEMM + Reshape/Transpose/Split.

Deterministic: the same input gives the same bytes. Refuses its own output as input.
"""
import argparse
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MS = 'com.microsoft'
PRODUCER = 'megacontext fast_gistnet.py'


def load_weights(model):
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    by_node = {}
    for n in model.graph.node:
        if n.op_type in ('MatMul', 'Gemm', 'Gather'):
            by_node[n.name] = [inits.get(i) for i in n.input]
    return inits, by_node


class Builder:
    def __init__(self):
        self.nodes, self.inits = [], []

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def op(self, op_type, inputs, name, outputs=1, domain=None, **attrs):
        outs = [f'{name}_out{i}' for i in range(outputs)] if isinstance(outputs, int) else outputs
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name, domain=domain, **attrs))
        return outs[0] if len(outs) == 1 else outs


def quantize_weight(w, per_channel, bits):
    """Symmetric int8 of w [K, N] (columns = outputs): (q int8 [K, N], scale float32 [N] or scalar)."""
    qmax = 127 if bits == 8 else 63
    amax = np.abs(w).max(axis=0) if per_channel else np.abs(w).max()
    scale = (np.maximum(amax, 1e-12) / qmax).astype(np.float32)
    q = np.clip(np.round(w / scale), -qmax, qmax).astype(np.int8)
    return q, scale


def build(src, quant='int8', table='fp16', per_channel=True, bits=7):
    if src.producer_name == PRODUCER:
        raise SystemExit('fast_gistnet.py: the input is already a fast_gistnet.py output; give it the float32 export')
    if [i.name for i in src.graph.input] != ['tokens', 'mask']:
        raise SystemExit('fast_gistnet.py: expected the LOD1 GistNet export (inputs tokens, mask)')
    inits, by_node = load_weights(src)
    d, heads = 128, 4
    dh = d // heads
    layers = sum(1 for n in by_node if n.endswith('/att/q/MatMul'))
    b = Builder()
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731

    def matmul(x, w, tag, bias=None):
        """x @ w (+ bias): float32, or int8 weights with the activations quantized on the fly."""
        if quant == 'none':
            y = b.op('MatMul', [x, b.init(f'{tag}.w', f32(w))], name=f'{tag}/MatMul')
            return b.op('Add', [y, b.init(f'{tag}.b', f32(bias))], name=f'{tag}/Add') if bias is not None else y
        q, s = quantize_weight(f32(w), per_channel, bits)
        ins = [x, b.init(f'{tag}.wq', q), b.init(f'{tag}.ws', s), b.init(f'{tag}.wz', np.zeros(s.shape, np.int8))]
        if bias is not None:
            ins.append(b.init(f'{tag}.b', f32(bias)))
        return b.op('DynamicQuantizeMatMul', ins, domain=MS, name=f'{tag}/DynamicQuantizeMatMul')

    def matmul_quantized(xq, tag, w, bias):
        """(x quantized once by DynamicQuantizeLinear) @ w + bias, for several GEMMs sharing x."""
        if quant == 'none':
            return matmul(xq, w, tag, bias)
        q, s = quantize_weight(f32(w), per_channel, bits)
        hq, hs, hz = xq
        return b.op('MatMulIntegerToFloat', [hq, b.init(f'{tag}.wq', q), hs, b.init(f'{tag}.ws', s), hz,
                                             b.init(f'{tag}.wz', np.zeros(s.shape, np.int8)), b.init(f'{tag}.b', f32(bias))],
                    domain=MS, name=f'{tag}/MatMulIntegerToFloat')

    def layer_norm(x, prefix, tag):
        g = b.init(f'{prefix}.g', f32(inits[f'{prefix}.weight']))
        be = b.init(f'{prefix}.b', f32(inits[f'{prefix}.bias']))
        return b.op('LayerNormalization', [x, g, be], name=tag, axis=-1, epsilon=1e-5)

    # Key-padding mask as in nets.py: + (mask - 1) * 1e4 on the logits.
    mask_add = b.op('Mul', [b.op('Sub', ['mask', b.init('one', np.float32(1.0))], name='mask_sub'),
                            b.init('big', np.float32(1.0e4))], name='mask_additive')
    mask_rows = b.op('Unsqueeze', [mask_add, b.init('axes1', np.array([1], np.int64))], name='mask_rows')  # [B,1,S]

    emb = f32(by_node['/emb/Gather'][0])
    tab = emb @ f32(by_node['/proj/MatMul'][1]) + f32(inits['proj.bias'])
    bucket = b.op('Mod', ['tokens', b.init('buckets', np.int64(emb.shape[0]))], name='bucket', fmod=0)
    if table == 'fp16':
        x = b.op('Cast', [b.op('Gather', [b.init('table', tab.astype(np.float16)), bucket], name='table_gather')],
                 to=TensorProto.FLOAT, name='table_cast')
    else:
        x = b.op('Gather', [b.init('table', f32(tab)), bucket], name='table_gather')
    x = b.op('Add', [x, b.init('pos', f32(inits['pos']))], name='add_pos')

    h = layer_norm(x, 'layers.0.ln1', 'layers.0/ln1')
    for i in range(layers):
        hq = h if quant == 'none' else b.op('DynamicQuantizeLinear', [h], name=f'layers.{i}/quantize', outputs=3)
        ctxs = []
        for j in range(heads):
            cols = slice(j * dh, (j + 1) * dh)
            qkv = {k: matmul_quantized(hq, f'l{i}.{k}{j}', by_node[f'/layers.{i}/att/{k}/MatMul'][1][:, cols],
                                       inits[f'layers.{i}.att.{k}.bias'][cols]) for k in 'qkv'}
            sc = b.op('FusedMatMul', [qkv['q'], qkv['k']], domain=MS, name=f'layers.{i}/scores{j}', transA=0, transB=1,
                      alpha=float(1 / np.sqrt(dh)))
            pr = b.op('Softmax', [b.op('Add', [sc, mask_rows], name=f'layers.{i}/mask{j}')], name=f'layers.{i}/softmax{j}', axis=-1)
            ctxs.append(b.op('MatMul', [pr, qkv['v']], name=f'layers.{i}/context{j}'))
        att = b.op('Concat', ctxs, name=f'layers.{i}/merge_heads', axis=-1)
        o = matmul(att, by_node[f'/layers.{i}/att/o/MatMul'][1], f'l{i}.o', inits[f'layers.{i}.att.o.bias'])
        x = b.op('Add', [x, o], name=f'layers.{i}/residual1')
        h = layer_norm(x, f'layers.{i}.ln2', f'layers.{i}/ln2')
        f = matmul(h, by_node[f'/layers.{i}/ff/ff.0/MatMul'][1], f'l{i}.ff0')
        f = b.op('BiasGelu', [f, b.init(f'l{i}.ff0.b', f32(inits[f'layers.{i}.ff.0.bias']))], domain=MS, name=f'layers.{i}/gelu')
        f = matmul(f, by_node[f'/layers.{i}/ff/ff.2/MatMul'][1], f'l{i}.ff2', inits[f'layers.{i}.ff.2.bias'])
        x = b.op('Add', [x, f], name=f'layers.{i}/residual2')
        h = layer_norm(x, f'layers.{i + 1}.ln1' if i + 1 < layers else 'pool.ln', f'layers.{i}/ln_next')

    # Attention pooling on h = pool.ln(x) (float32: it is [B,32,128] @ [128,1] and [B,1,32] @ [B,32,128]).
    wk = f32(by_node['/pool/key/MatMul'][1])
    kq = (wk.astype(np.float64) @ inits['pool.query'].astype(np.float64) / np.sqrt(d)).reshape(d, 1).astype(np.float32)
    logits = b.op('Squeeze', [b.op('MatMul', [h, b.init('pool.kq', kq)], name='pool/logits'),
                              b.init('axes_last', np.array([-1], np.int64))], name='pool/squeeze')
    w = b.op('Softmax', [b.op('Add', [logits, mask_add], name='pool/mask')], name='pool/softmax', axis=-1)
    w = b.op('Mul', [w, 'mask'], name='pool/zero_pad')
    total = b.op('ReduceSum', [w, 'axes_last'], name='pool/sum', keepdims=1)
    b.op('Div', [w, b.op('Add', [total, b.init('eps9', np.float32(1e-9))], name='pool/sum_eps')], outputs=['salience'], name='pool/normalise')
    wsum = b.op('ReduceSum', ['salience', 'axes_last'], name='pool/wsum', keepdims=1)  # [B,1]: 1, or 0 for an empty block
    pooled = b.op('MatMul', [b.op('Unsqueeze', ['salience', 'axes1'], name='pool/unsqueeze'), h], name='pool/weighted')
    pooled = b.op('Reshape', [pooled, b.init('shape_bd', np.array([-1, d], np.int64))], name='pool/flat')
    wv, bv = by_node['/pool/val/MatMul'][1].astype(np.float64), inits['pool.val.bias'].astype(np.float64)
    wo = inits['pool.out.weight'].astype(np.float64)
    raw = b.op('Gemm', [pooled, b.init('pool.vo.w', f32(wv @ wo.T)), b.init('pool.out.b', f32(inits['pool.out.bias']))], name='pool/out')
    raw = b.op('Add', [raw, b.op('Mul', [wsum, b.init('pool.vo.b', f32(bv @ wo.T).reshape(1, d))], name='pool/val_bias')], name='pool/raw')
    sq = b.op('ReduceSum', [b.op('Mul', [raw, raw], name='l2/square'), 'axes_last'], name='l2/sum', keepdims=1)
    b.op('Div', [raw, b.op('Sqrt', [b.op('Add', [sq, b.init('eps12', np.float32(1e-12))], name='l2/eps')], name='l2/sqrt')],
         outputs=['gist'], name='l2/normalise')

    graph = helper.make_graph(b.nodes, 'gistnet-lod1', list(src.graph.input), list(src.graph.output), b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17), helper.make_opsetid(MS, 1)], producer_name=PRODUCER)
    model.ir_version = src.ir_version
    model.doc_string = (f'GistNet LOD1, {"int8 weights (" + str(bits) + "-bit, per-" + ("column" if per_channel else "tensor") + ")" if quant == "int8" else "float32"}'
                        f', {table} table; built by models/training/fast_gistnet.py from the float32 export')
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('src')
    ap.add_argument('dst')
    ap.add_argument('--quant', choices=['int8', 'none'], default='int8')
    ap.add_argument('--table', choices=['fp16', 'fp32'], default='fp16')
    ap.add_argument('--per-tensor', action='store_true')
    ap.add_argument('--bits', type=int, choices=[7, 8], default=7)
    a = ap.parse_args()
    model = build(onnx.load(a.src), a.quant, a.table, not a.per_tensor, a.bits)
    onnx.checker.check_model(model)
    onnx.save(model, a.dst)
    print(f'fast_gistnet: {a.dst}: {len(model.graph.node)} nodes; {model.doc_string}', file=sys.stderr)


if __name__ == '__main__':
    main()
