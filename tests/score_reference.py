"""Scores of every built-in proxy on every registered space (tiny networks), recorded before the
build-once path existed: ``compute_scores`` must keep reproducing them bit for bit.

Regenerate (only when a score change is intended and reviewed) with
``python tests/score_reference.py > /tmp/ref.py`` and paste it below (``ruff format`` it). The values were produced at
commit 0d219dc (one fresh network per proxy), CPU, one torch thread.
"""

from __future__ import annotations

import math

import torch

from zcbench.spaces import get_space

NB101_SPECS = (
    '{"matrix":[[0,1,1,0],[0,0,0,1],[0,0,0,1],[0,0,0,0]],"ops":["input","conv3x3-bn-relu","maxpool3x3","output"]}',
    '{"matrix":[[0,1,0,0,1],[0,0,1,0,0],[0,0,0,1,0],[0,0,0,0,1],[0,0,0,0,0]],'
    '"ops":["input","conv1x1-bn-relu","conv3x3-bn-relu","maxpool3x3","output"]}',
)
TINY = {  # space -> (dataset, build options, input size), as tests/test_architecture.py
    "nb201": ("cifar10", {"C": 4, "N": 1}, 16),
    "nb101": ("cifar10", {}, 16),
    "nb301": ("cifar10", {"C": 4, "layers": 2}, 16),
    "tnb101_micro": ("class_scene", {}, 64),
    "tnb101_macro": ("segmentsemantic", {}, 64),
}
OPTIONS = {"swap_repeats": 2, "reg_swap_mu": 10.0, "reg_swap_sigma": 1e6}
BATCH = 4


ARCHS = {"nb201": 2, "nb301": 2, "nb101": 1, "tnb101_micro": 1, "tnb101_macro": 1}  # the larger networks: one
SLOW = {"nb101", "tnb101_micro", "tnb101_macro"}  # over 5 s each (meco's eigenvalues at 64x64, NB101's width)


def archs(space: str) -> list[str]:
    sp = get_space(space)
    if space == "nb101":
        return [sp.parse(s) for s in NB101_SPECS][: ARCHS[space]]
    return sp.sample(2, 0)[: ARCHS[space]]


def batch(space: str, make) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded minibatch of BATCH images and targets fitting the network's output."""
    sp = get_space(space)
    dataset, _, hw = TINY[space]
    x = torch.randn(BATCH, 3, hw, hw, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = make()(x)
    g = torch.Generator().manual_seed(2)
    task = sp.input_spec(dataset).task
    if task == "classification":
        y = torch.randint(0, out.shape[1], (BATCH,), generator=g)
    elif task == "segmentation":
        y = torch.randint(0, out.shape[1], (BATCH, *out.shape[2:]), generator=g)
    elif out.dim() == 2:
        y = torch.rand(out.shape, generator=g).softmax(-1)
    else:
        y = torch.randn(out.shape, generator=g)
    return x, y


def maker(space: str, arch: str, seed: int = 7):
    sp = get_space(space)
    dataset, opts, _ = TINY[space]

    def make():
        torch.manual_seed(seed)
        return sp.build(arch, dataset, **opts)

    return make


def encode(value: float) -> str:
    return "nan" if math.isnan(value) else float(value).hex()


# space -> one {proxy: float.hex()} per architecture of archs(space), in that order
REFERENCE: dict[str, list[dict[str, str]]] = {
    "nb201": [
        {
            "jacov": "-0x1.00df1ba25f522p+2",
            "epe_nas": "0x1.4f8aea9af0a25p-15",
            "fisher": "0x1.f8ff3e0000000p-1",
            "flops": "0x1.1c5692b3cc4acp-2",
            "grad_norm": "0x1.330bf80000000p+3",
            "grasp": "0x1.3e2c780000000p+2",
            "l2_norm": "0x1.e1cd720000000p+4",
            "meco": "0x1.ff2e07543c362p+3",
            "nwot": "0x1.2b2e4922adb1ep+5",
            "params": "0x1.1efb6dca07f67p-7",
            "plain": "0x1.e35e060000000p-3",
            "snip": "0x1.55a8200000000p+3",
            "swap": "0x1.0000000000000p+4",
            "reg_swap": "0x1.ffffcc3d7c81dp+3",
            "synflow": "0x1.6150497749211p+23",
            "synflow_bn": "0x1.675aa9bf0f673p+3",
            "zen": "0x1.78c07c0000000p+3",
            "zico": "0x1.aa54600000000p+6",
        },
        {
            "jacov": "-0x1.02cbc6cecdeaap+2",
            "epe_nas": "0x1.4f8aea9af0a25p-15",
            "fisher": "0x1.b55d860000000p-1",
            "flops": "0x1.6f5989df1172fp-3",
            "grad_norm": "0x1.47486a0000000p+3",
            "grasp": "0x1.c618000000000p-7",
            "l2_norm": "0x1.e1a45e0000000p+4",
            "meco": "0x1.1d07c12cb80dap+3",
            "nwot": "0x1.2ac5338f026a4p+5",
            "params": "0x1.8dcdb37c99ae9p-8",
            "plain": "-0x1.bbde300000000p-6",
            "snip": "0x1.654fa80000000p+3",
            "swap": "0x1.0000000000000p+4",
            "reg_swap": "0x1.fffdf9c258008p+3",
            "synflow": "0x1.f6349d2c57c4ap+21",
            "synflow_bn": "0x1.27fd9a2cd3504p+3",
            "zen": "0x1.16cabc0000000p+3",
            "zico": "0x1.b85fce0000000p+6",
        },
    ],
    "nb101": [
        {
            "jacov": "-0x1.00ed0973ce64bp+2",
            "epe_nas": "0x1.4f8aea9af0a25p-15",
            "fisher": "0x1.c0ba180000000p+6",
            "flops": "0x1.dd840c8472c0ep+6",
            "grad_norm": "0x1.74c79e0000000p+6",
            "grasp": "-0x1.67c0000000000p-3",
            "l2_norm": "0x1.1067fc0000000p+9",
            "meco": "0x1.6ff679bff8680p+2",
            "nwot": "0x1.88d0125d5d6bcp+5",
            "params": "0x1.9a9595feda661p+1",
            "plain": "0x1.01dd560000000p-5",
            "snip": "0x1.36078e0000000p+9",
            "swap": "0x1.0000000000000p+4",
            "reg_swap": "0x1.300a9800e6362p-11",
            "synflow": "0x1.bcbedbb972cc6p+86",
            "synflow_bn": "0x1.3850c6020d892p+6",
            "zen": "0x1.07cbf40000000p+4",
            "zico": "0x1.8b5a940000000p+8",
        },
    ],
    "nb301": [
        {
            "jacov": "-0x1.00fcea9954ffap+2",
            "epe_nas": "0x1.4f8aea9af0a25p-15",
            "fisher": "0x1.00a29c0000000p+1",
            "flops": "0x1.54aa9717df19dp-2",
            "grad_norm": "0x1.7ac5d00000000p+4",
            "grasp": "-0x1.5a19800000000p-2",
            "l2_norm": "0x1.54efb80000000p+6",
            "meco": "0x1.76225cc08ecdap+3",
            "nwot": "0x1.48371e666383dp+5",
            "params": "0x1.04816f0068db9p-7",
            "plain": "0x1.a66dce0000000p-3",
            "snip": "0x1.c8c2640000000p+4",
            "swap": "0x1.0000000000000p+4",
            "reg_swap": "0x1.ffff72fce02fep+3",
            "synflow": "0x1.be59920a0347bp+23",
            "synflow_bn": "0x1.4b2e3a1d9e3f7p+7",
            "zen": "0x1.7236d00000000p+4",
            "zico": "0x1.465a3e0000000p+8",
        },
        {
            "jacov": "-0x1.01aa3d85c1714p+2",
            "epe_nas": "0x1.4f8aea9af0a25p-15",
            "fisher": "0x1.8c71f60000000p+1",
            "flops": "0x1.221294573a798p-2",
            "grad_norm": "0x1.75933c0000000p+4",
            "grasp": "-0x1.55f0380000000p+2",
            "l2_norm": "0x1.919a460000000p+5",
            "meco": "0x1.153f71a537d65p+3",
            "nwot": "0x1.40002ce0391a7p+5",
            "params": "0x1.7f1f9acffa7ebp-8",
            "plain": "0x1.ac687c0000000p-2",
            "snip": "0x1.ae6f380000000p+4",
            "swap": "0x1.0000000000000p+4",
            "reg_swap": "0x1.fffdbcffce9d0p+3",
            "synflow": "0x1.1d311d639be53p+20",
            "synflow_bn": "0x1.7b4481fa05692p+7",
            "zen": "0x1.05aa120000000p+4",
            "zico": "0x1.748d2a0000000p+7",
        },
    ],
    "tnb101_micro": [
        {
            "jacov": "-0x1.000d3b78a6c0ap+2",
            "epe_nas": "0x1.4f8aea9af0a25p-15",
            "fisher": "0x1.e9c4260000000p+1",
            "flops": "0x1.6b938fde2ef4ep+7",
            "grad_norm": "0x1.4413560000000p+4",
            "grasp": "-0x1.c6e8cc0000000p+3",
            "l2_norm": "0x1.0926800000000p+9",
            "meco": "0x1.31a215b1f6080p+0",
            "nwot": "0x1.8cd7b5c759726p+5",
            "params": "0x1.c0793bc0a06eap+3",
            "plain": "0x1.5619be0000000p-3",
            "snip": "0x1.99ea660000000p+7",
            "swap": "0x1.0000000000000p+4",
            "reg_swap": "0x1.06cf92d7d7afcp-279",
            "synflow": "0x1.6683485924132p+120",
            "synflow_bn": "0x1.c282f349b7613p-32",
            "zen": "0x1.f9ce900000000p+5",
            "zico": "0x1.abe96e0000000p+8",
        },
    ],
    "tnb101_macro": [
        {
            "jacov": "-0x1.0010437e87340p+2",
            "epe_nas": "nan",
            "fisher": "0x1.26d1ca0000000p-2",
            "flops": "0x1.5bee3d5fdcdf7p+8",
            "grad_norm": "0x1.cc71ee0000000p+2",
            "grasp": "0x1.43c7c00000000p-3",
            "l2_norm": "0x1.f7d2f60000000p+8",
            "meco": "0x1.5faade5520090p+3",
            "nwot": "0x1.a01f06ab780eap+5",
            "params": "0x1.e08db2702a348p+3",
            "plain": "0x1.3a92140000000p-3",
            "snip": "0x1.e0774c0000000p+5",
            "swap": "0x1.0000000000000p+4",
            "reg_swap": "0x1.0e2b46f7dfb9cp-321",
            "synflow": "0x1.bd7ab25418229p+171",
            "synflow_bn": "0x1.a9abad4555758p+17",
            "zen": "0x1.29aee80000000p+6",
            "zico": "0x1.e3b49a0000000p+8",
        },
    ],
}


if __name__ == "__main__":  # pragma: no cover - regeneration only
    import sys

    sys.path.insert(0, "tests")
    from test_score_reference import scores_now

    torch.set_num_threads(1)
    print("REFERENCE: dict[str, list[dict[str, str]]] = {")
    for space in TINY:
        print(f"    {space!r}: [")
        for arch in archs(space):
            print("        {")
            for name, value in scores_now(space, arch, fresh=True).items():
                print(f"            {name!r}: {value!r},")
            print("        },")
        print("    ],")
    print("}")
