"""The structure the code promises (docs/architecture.md), checked so that it cannot silently erode:

* no module imports a module of a higher layer (data flows dump → ... → tables, the CLI on top);
* the commands that compute nothing never import torch;
* every registered proxy runs on every registered space (tiny networks), in the manner of timm's
  registry-wide tests: a new proxy or space is covered without writing a test for it.
"""

from __future__ import annotations

import ast
import functools
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from zcbench.proxies import PROXIES, ProxyContext
from zcbench.proxies.runner import compute_one, expand_names
from zcbench.spaces import SPACES, get_space

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "zcbench"

LAYERS = [
    {"errors", "registry", "progress", "outputs", "safe_pickle", "aggregates"},
    {"data"},
    {"spaces"},
    {"proxies"},
    {"store"},
    {"settings", "formatting"},
    {"engine"},
    {"report", "imports"},
    {"predictors"},
    {"search"},
    {"download"},
    {"api"},
    {"cli", "testing"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _component(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "zcbench" and len(parts) > 1 else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute zcbench module) of every import in a file, function-level ones included."""
    mod = ".".join(path.relative_to(REPO).with_suffix("").parts)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("zcbench")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("zcbench"):
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
                out += [(node.lineno, n) for n in names]
    return out


def test_every_module_has_a_layer():
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] in ("__init__.py", "__main__.py"):
            continue
        assert _component("zcbench." + rel.with_suffix("").parts[0]) in LAYER, f"{rel}: add it to LAYERS"


def test_no_layer_imports_a_higher_one():
    bad = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] in ("__init__.py", "__main__.py"):
            continue  # the package root re-exports the API lazily; __main__ is the CLI
        mine = LAYER[rel.with_suffix("").parts[0]]
        for line, target in _imports(path):
            comp = _component(target)
            if comp is None or comp in ("__init__", "__version__") or target == "zcbench":
                continue
            if LAYER.get(comp, -1) > mine:
                bad.append(f"zcbench/{rel}:{line} imports {target} (layer {LAYER[comp]} > {mine})")
    assert not bad, "\n".join(bad)


def test_no_import_cycle_between_packages():
    """The packages and flat modules of zcbench/ form a graph without cycles (function-level imports counted)."""
    graph: dict[str, set[str]] = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] in ("__init__.py", "__main__.py"):
            continue
        mine = rel.with_suffix("").parts[0]
        for _, target in _imports(path):
            comp = _component(target)
            if comp and comp != mine and comp in LAYER:
                graph.setdefault(mine, set()).add(comp)
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join([*path, node, nxt])
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_few_flat_modules_at_the_top():
    """At most 10 top-level modules besides __init__/__main__: everything else lives in the package of its step."""
    flat = sorted(p.name for p in PKG.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert len(flat) <= 10, flat


NO_TORCH = """
import sys
from zcbench.cli import main
try:
    main(sys.argv[1:], prog_name="zcbench")
except SystemExit as e:
    code = e.code
print("TORCH" if "torch" in sys.modules else "NO-TORCH", file=sys.stderr)
"""


@pytest.fixture(scope="module")
def small_results(tmp_path_factory):
    from zcbench.store import ResultStore, Row, RunInfo, RunKey

    d = tmp_path_factory.mktemp("r")
    with ResultStore(d / "r.h5") as st:
        for p in ("synflow", "params"):
            rows = [Row(i, f"a{i}", float(i * (1 if p == "params" else -1)), 0.1, 50.0 + i) for i in range(5)]
            st.append(RunKey("nb201", "cifar10", p, data_free=True), RunInfo(), rows)
    return d


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["status", "r.h5"], ["export", "r.h5"], ["correlate", "r.h5"],
     ["merge", "r.h5", "-o", "m.h5"], ["compare", "r.h5", "synflow", "params", "--resamples", "50"],
     ["agreement", "r.h5"], ["score", "--help"],
     ["predict", "r.h5", "--features", "zc", "--model", "ridge", "--train", "2", "--test", "2", "--trials", "1"]],
)  # fmt: skip
def test_commands_that_compute_nothing_do_not_import_torch(args, small_results):
    p = subprocess.run([sys.executable, "-c", NO_TORCH, *args], cwd=small_results, capture_output=True, text=True)
    assert p.stderr.strip().splitlines()[-1] == "NO-TORCH", p.stderr


# -- every proxy on every space ---------------------------------------------------------------------
TINY = {  # space -> (dataset, build options, input size): the smallest networks each space builds
    "nb201": ("cifar10", {"C": 4, "N": 1}, 16),
    "nb101": ("cifar10", {}, 16),
    "nb301": ("cifar10", {"C": 4, "layers": 2}, 16),
    "tnb101_micro": ("class_scene", {}, 64),  # smaller inputs leave 1x1 maps at a train-mode BN
    "tnb101_macro": ("segmentsemantic", {}, 64),
}
NB101_SPEC = (
    '{"matrix":[[0,1,1,0],[0,0,0,1],[0,0,0,1],[0,0,0,0]],"ops":["input","conv3x3-bn-relu","maxpool3x3","output"]}'
)


def test_every_space_has_a_tiny_setting():
    assert set(TINY) == set(SPACES.names()), "add the new space to TINY"


@functools.cache
def _setup(space: str):
    """The tiny network builder and context of ``space``, made once (the runner gives each proxy its own copy
    of the minibatch, so the cases cannot change it for each other)."""
    sp = get_space(space)
    dataset, build_opts, hw = TINY[space]
    arch = sp.parse(NB101_SPEC) if space == "nb101" else sp.sample(1, 0)[0]

    def make():
        torch.manual_seed(0)
        return sp.build(arch, dataset, **build_opts)

    x = torch.randn(4, 3, hw, hw, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = make()(x)
    spec = sp.input_spec(dataset)
    g = torch.Generator().manual_seed(2)
    if spec.task == "classification":
        y = torch.randint(0, out.shape[1], (4,), generator=g)
    elif spec.task == "segmentation":
        y = torch.randint(0, out.shape[1], (4, *out.shape[2:]), generator=g)
    elif out.dim() == 2:  # soft classification targets
        y = torch.rand(out.shape, generator=g).softmax(-1)
    else:
        y = torch.randn(out.shape, generator=g)
    opts = {"swap_repeats": 2, "zen_batch": 2, "reg_swap_mu": 10.0, "reg_swap_sigma": 1e6}
    ctx = ProxyContext(
        x, y, (3, hw, hw), spec.num_classes, loss_fn=sp.loss_fn(dataset), task=spec.task, options=opts, batch_size=4
    )
    return make, ctx


@pytest.mark.parametrize("space", sorted(TINY))
@pytest.mark.parametrize("proxy", PROXIES.names())
def test_every_proxy_on_every_space(space, proxy):
    spec = PROXIES.get(proxy)
    if spec.origin != "zcbench":
        pytest.skip(f"{proxy} is a plugin")
    if spec.inputs:  # vote, az_nas, te_nas: no value of their own; their inputs (each tested here) are computed
        assert expand_names([proxy]) == list(spec.inputs)
        assert all(PROXIES.get(p).origin == "zcbench" and not PROXIES.get(p).inputs for p in spec.inputs)
        return
    make, ctx = _setup(space)
    r = compute_one(proxy, make, ctx)
    dense = ctx.targets is not None and ctx.targets.dim() > 2  # per-pixel outputs: no K-way head
    if spec.head and dense:
        assert math.isnan(r.score) and r.error, r  # needs class logits: NaN with the reason
    else:
        assert math.isfinite(r.score), (proxy, space, r.error)
