"""Write the shipped GistNet v3 LOD1 graph from its PyTorch state (nets.GistLOD1V3), folded for onnxruntime CPU.

  /usr/bin/python3 models/training/v3/fast_gistnet_v3.py STATE.pt OUT.onnx [--table int8|fp16|fp32] [--no-bigram]

Exact algebra (float32 rounding aside):
  - out(sum_i w_i e_i) = sum_i w_i (e_i W^T) + b, since the pooling weights sum to 1: every embedding table is
    multiplied by W^T once (T_k = E_k W^T), so no GEMM is left per token or per block;
  - salience logits e_i . u + c + pos_i: per table a scalar table S_k = E_k u (the constant c cancels in the softmax);
  - so per token: Gather of a 128-row and a scalar from each table (unigram id % 16384, id % 16381, bigram
    (id_i * 200003 + id_i+1) % 16384 masked when the next token is padding), softmax over valid tokens,
    one batched [1,32]x[32,128] product, + b, L2 norm.
With several pooling heads or an MLP output (nets.GistLOD1V3 heads > 1 or hidden > 0) W cannot be folded: the tables
stay E_k (128-wide), each gives one scalar per head (S_k = E_k U^T, [V,H]), the H pooled vectors are concatenated and
the output layer runs once per block (a [H·128]x[128] product, + GELU layer when hidden > 0); salience is the mean
of the heads' weights.
--table int8 (default): the 128-wide tables are int8 with one float32 scale per row (symmetric, [-127, 127]);
fp16 / fp32 keep them as float. Same input contract and outputs as nets.GistLOD1 (tokens int64 [B,32],
mask f32 [B,32] -> gist f32 [B,128] L2-normalised, salience f32 [B,32]: softmax over valid tokens, padded = 0).
Deterministic: the same state gives the same bytes.
"""
import argparse
import os
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import nets  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('state')
ap.add_argument('out')
ap.add_argument('--table', default='int8', choices=['int8', 'fp16', 'fp32'])
ap.add_argument('--query', action='store_true', help='write the query encoder of a state trained with --query-tables (default: the block encoder)')
args = ap.parse_args()
raw_sd = torch.load(args.state)
raw_sd = nets.query_state(raw_sd) if args.query else nets.code_state(raw_sd)
keymap = raw_sd['keymap'].numpy().astype(np.int32) if 'keymap' in raw_sd else None
sd = {k: v.detach().numpy().astype(np.float64) for k, v in raw_sd.items() if k != 'keymap'}
bigram = 'eb.weight' in sd
W, b = sd['out.weight'], sd['out.bias']  # out(x) = x W^T + b
U = sd['sal.weight']  # [H,128]
H = U.shape[0]
hidden = 'hid.weight' in sd
fold = H == 1 and not hidden
u = U[0]
pos = sd['pos']
n1 = sd['e1.weight'].shape[0]  # nets.GistLOD1V3: N1 rows, N2 = the prime below
tables = [('e1', n1), ('e2', nets.prime_below(n1))] + ([('eb', n1)] if bigram else [])

inits, nodes = [], []


def const(name, arr):
    inits.append(numpy_helper.from_array(arr, name))
    return name


def node(op, ins, outs, **kw):
    nodes.append(helper.make_node(op, ins, outs, name=outs[0], **kw))
    return outs[0]


def masked_softmax(scores, neg, msk, out):
    """Softmax of scores + neg over the last axis, zero where msk is 0, renormalised to sum to 1."""
    node('Add', [scores, neg], ['logits'])
    node('Softmax', ['logits'], ['w0'], axis=-1)
    node('Mul', ['w0', msk], ['w1'])
    node('ReduceSum', ['w1', 'axm1'], ['w1s'], keepdims=1)
    node('Add', ['w1s', 'eps9'], ['w1se'])
    return node('Div', ['w1', 'w1se'], [out])


const('ax1', np.array([1], np.int64))
const('axm1', np.array([-1], np.int64))
const('one_f', np.array(1.0, np.float32))
const('big', np.array(1.0e4, np.float32))
const('eps9', np.array(1e-9, np.float32))
const('eps12', np.array(1e-12, np.float32))
# GistNet v3 key map: o200k id -> normalised key number, before any hashing
if keymap is not None:
    const('V_o200k', np.array(nets.GistLOD1V3.O200K, np.int64))
    const('keymap', keymap)
    node('Mod', ['tokens', 'V_o200k'], ['tokens_mod'], fmod=0)
    node('Gather', ['keymap', 'tokens_mod'], ['keys32'], axis=0)
    node('Cast', ['keys32'], ['ktok'], to=TensorProto.INT64)
    TOK = 'ktok'
else:
    TOK = 'tokens'
# next token and its mask: shift left by one, pad with 0
const('s_start', np.array([1], np.int64))
const('s_end', np.array([nets.BLOCK_TOKENS], np.int64))
const('z_start', np.array([0], np.int64))
node('Slice', [TOK, 's_start', 's_end', 'ax1'], ['tok_next0'])
node('Slice', [TOK, 'z_start', 's_start', 'ax1'], ['tok_first'])
const('zero_i', np.array(0, np.int64))
node('Mul', ['tok_first', 'zero_i'], ['tok_zcol'])
node('Concat', ['tok_next0', 'tok_zcol'], ['tok_next'], axis=1)
node('Slice', ['mask', 's_start', 's_end', 'ax1'], ['mask_next0'])
node('Slice', ['mask', 'z_start', 's_start', 'ax1'], ['mask_first'])
const('zero_f', np.array(0.0, np.float32))
node('Mul', ['mask_first', 'zero_f'], ['mask_zcol'])
node('Concat', ['mask_next0', 'mask_zcol'], ['mask_next'], axis=1)

rows, sals = [], []
for name, V in tables:
    E = sd[f'{name}.weight']
    T = E @ W.T if fold else E  # [V,128]
    S = (E @ u if fold else E @ U.T).astype(np.float32)  # [V] or [V,H]
    if name == 'eb':
        const('bigmul', np.array(nets.GistLOD1V3.BIG_MUL, np.int64))
        node('Mul', [TOK, 'bigmul'], ['tok_mul'])
        node('Add', ['tok_mul', 'tok_next'], ['tok_pair'])
        src = 'tok_pair'
    else:
        src = TOK
    const(f'V_{name}', np.array(V, np.int64))
    idx = node('Mod', [src, f'V_{name}'], [f'idx_{name}'], fmod=0)
    if args.table == 'int8':
        sc = np.maximum(np.abs(T).max(1, keepdims=True), 1e-12) / 127.0
        q = np.clip(np.round(T / sc), -127, 127).astype(np.int8)
        const(f'T_{name}', q)
        const(f'Tsc_{name}', sc.astype(np.float32))
        node('Gather', [f'T_{name}', idx], [f'g8_{name}'], axis=0)
        node('Cast', [f'g8_{name}'], [f'gf_{name}'], to=TensorProto.FLOAT)
        node('Gather', [f'Tsc_{name}', idx], [f'gs_{name}'], axis=0)
        r = node('Mul', [f'gf_{name}', f'gs_{name}'], [f'row_{name}'])
    elif args.table == 'fp16':
        const(f'T_{name}', T.astype(np.float16))
        node('Gather', [f'T_{name}', idx], [f'g16_{name}'], axis=0)
        r = node('Cast', [f'g16_{name}'], [f'row_{name}'], to=TensorProto.FLOAT)
    else:
        const(f'T_{name}', T.astype(np.float32))
        r = node('Gather', [f'T_{name}', idx], [f'row_{name}'], axis=0)
    const(f'S_{name}', S)
    s = node('Gather', [f'S_{name}', idx], [f'sal_{name}'], axis=0)
    if name == 'eb':
        node('Unsqueeze', ['mask_next', 'axm1'], ['mask_next3'])
        r = node('Mul', [r, 'mask_next3'], ['rowm_eb'])
        s = node('Mul', [s, 'mask_next' if fold else 'mask_next3'], ['salm_eb'])
    rows.append(r)
    sals.append(s)

e = rows[0]
for i, r in enumerate(rows[1:]):
    e = node('Add', [e, r], [f'e_sum{i}'])
lg = sals[0]
for i, s in enumerate(sals[1:]):
    lg = node('Add', [lg, s], [f'lg_sum{i}'])
const('pos', pos.astype(np.float32))
if fold:
    node('Add', [lg, 'pos'], ['lg_pos'])
    node('Sub', ['mask', 'one_f'], ['mask_m1'])
    node('Mul', ['mask_m1', 'big'], ['mask_neg'])
    masked_softmax('lg_pos', 'mask_neg', 'mask', 'salience')
    node('Unsqueeze', ['salience', 'ax1'], ['w3'])
    node('MatMul', ['w3', e], ['pooled3'])
    node('Squeeze', ['pooled3', 'ax1'], ['pooled'])
    const('b_out', b.astype(np.float32))
    node('Add', ['pooled', 'b_out'], ['raw'])
else:
    # logits [B,32,H] -> [B,H,32]; per head softmax over valid tokens; pooled [B,H,128] -> [B,H*128] -> output layer
    node('Transpose', [lg], ['lg_t'], perm=[0, 2, 1])
    node('Sub', ['mask', 'one_f'], ['mask_m1'])
    node('Mul', ['mask_m1', 'big'], ['mask_neg'])
    node('Add', ['lg_t', 'pos'], ['lg_pos'])
    node('Unsqueeze', ['mask_neg', 'ax1'], ['mask_neg3'])
    node('Unsqueeze', ['mask', 'ax1'], ['mask3'])
    masked_softmax('lg_pos', 'mask_neg3', 'mask3', 'wh')
    node('ReduceMean', ['wh'], ['salience'], axes=[1], keepdims=0)
    node('MatMul', ['wh', e], ['pooledh'])
    const('flat_shape', np.array([0, -1], np.int64))
    node('Reshape', ['pooledh', 'flat_shape'], ['pooled'])
    x = 'pooled'
    if hidden:
        const('W_hid', sd['hid.weight'].T.astype(np.float32))
        const('b_hid', sd['hid.bias'].astype(np.float32))
        node('MatMul', [x, 'W_hid'], ['hid0'])
        node('Add', ['hid0', 'b_hid'], ['hid1'])
        # exact GELU: x * 0.5 * (1 + erf(x / sqrt 2))
        const('rsqrt2', np.array(1 / np.sqrt(2), np.float32))
        const('half', np.array(0.5, np.float32))
        node('Mul', ['hid1', 'rsqrt2'], ['hid_s'])
        node('Erf', ['hid_s'], ['hid_erf'])
        node('Add', ['hid_erf', 'one_f'], ['hid_e1'])
        node('Mul', ['hid1', 'hid_e1'], ['hid_m'])
        x = node('Mul', ['hid_m', 'half'], ['hid'])
    const('W_out', W.T.astype(np.float32))
    const('b_out', b.astype(np.float32))
    node('MatMul', [x, 'W_out'], ['raw0'])
    node('Add', ['raw0', 'b_out'], ['raw'])
node('Mul', ['raw', 'raw'], ['raw2'])
node('ReduceSum', ['raw2', 'axm1'], ['ss'], keepdims=1)
node('Add', ['ss', 'eps12'], ['sse'])
node('Sqrt', ['sse'], ['nrm'])
node('Div', ['raw', 'nrm'], ['gist'])

g = helper.make_graph(
    nodes, 'gistnet_lod1_v3',
    [helper.make_tensor_value_info('tokens', TensorProto.INT64, ['B', nets.BLOCK_TOKENS]),
     helper.make_tensor_value_info('mask', TensorProto.FLOAT, ['B', nets.BLOCK_TOKENS])],
    [helper.make_tensor_value_info('gist', TensorProto.FLOAT, ['B', nets.D]),
     helper.make_tensor_value_info('salience', TensorProto.FLOAT, ['B', nets.BLOCK_TOKENS])],
    inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)], producer_name='megacontext fast_gistnet_v3.py')
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, args.out)
print(f'fast_gistnet_v3: {args.out} ({os.path.getsize(args.out):,} bytes, tables {args.table}, bigram {bigram}, heads {H}, hidden {hidden})')
