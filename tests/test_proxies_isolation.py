"""One build per architecture, restored exactly for each proxy; no proxy can change what another sees
(inputs, torch's global state, random generators, the process); out of memory is a failure unless the
run asks for a split (a run key of its own)."""

from __future__ import annotations

import math
import random
import signal
import subprocess
import sys
import weakref
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from zcbench.cli import main
from zcbench.proxies import ProxyContext, register_proxy, select_proxies
from zcbench.proxies.isolation import GlobalState, StopRequested, mark_stop_handler
from zcbench.proxies.pristine import Pristine
from zcbench.proxies.runner import compute_one, compute_scores, oom_reason
from zcbench.proxies.utils import bypass_batchnorm
from zcbench.settings import RunSettings
from zcbench.spaces import get_space

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
OPTS = {"swap_repeats": 3, "reg_swap_mu": 20.0, "reg_swap_sigma": 500.0, "zen_batch": 4}


def make_net() -> nn.Module:
    torch.manual_seed(3)
    return get_space("nb201").build(ARCH, "cifar10", C=4, N=1)


def ctx(batch: int = 8) -> ProxyContext:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(batch, 3, 16, 16, generator=g), torch.randint(0, 10, (batch,), generator=g)
    return ProxyContext(x, y, (3, 16, 16), 10, seed=5, options=dict(OPTS), batch_size=batch)


def builtins() -> list[str]:
    return [n for n in select_proxies(["all"], OPTS).names if n != "vote"]


# -- one build, restored ----------------------------------------------------------------------------
def test_every_builtin_proxy_from_one_build():
    builds = []

    def counted():
        builds.append(1)
        return make_net()

    res = compute_scores(builtins(), counted, ctx())
    assert len(builds) == 1
    assert all(math.isfinite(r.score) for r in res.values()), {n: r.error for n, r in res.items() if r.error}


def _state(net: nn.Module) -> list:
    return [(k, v.dtype, v.stride(), v.detach().clone()) for k, v in net.state_dict(keep_vars=True).items()]


def test_restore_undoes_what_a_proxy_can_do_to_the_network():
    net, fresh = make_net(), make_net()
    pristine = Pristine(net)
    fired = []
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    # what the built-in proxies do ...
    net.train()
    net(x).sum().backward()  # gradients; BatchNorm running statistics and num_batches_tracked move
    net.register_forward_hook(lambda *a: fired.append("forward"))
    net.cells[0].register_forward_pre_hook(lambda *a: fired.append("pre"))
    first = next(net.parameters())
    first.register_hook(lambda g: fired.append("tensor"))
    first.requires_grad_(False)
    bypass_batchnorm(net)  # synflow: BatchNorm replaced by identities, |θ|, float64
    net.double()
    with torch.no_grad():
        for t in net.state_dict().values():
            t.abs_()
    # ... and what a plugin might
    net.lastact[1].weight = nn.Parameter(torch.zeros(7))
    net.extra = nn.Linear(2, 2)
    net.classifier.flag = "set by a proxy"
    net.eval()
    pristine.restore()
    assert [(n, type(m)) for n, m in net.named_modules()] == [(n, type(m)) for n, m in fresh.named_modules()]
    for (k, dtype, stride, v), (k2, dtype2, stride2, v2) in zip(_state(net), _state(fresh), strict=True):
        assert (k, dtype, stride) == (k2, dtype2, stride2) and torch.equal(v, v2), k
    assert all(p.grad is None and p.requires_grad for p in net.parameters())
    assert net.training and not hasattr(net.classifier, "flag")
    fired.clear()
    out = net(x)
    out.sum().backward()
    assert fired == [] and torch.equal(out, fresh(x))


def test_order_of_proxies_does_not_matter():
    names = builtins()
    a = compute_scores(names, make_net, ctx(), share=False)
    b = compute_scores(list(reversed(names)), make_net, ctx(), share=False)
    assert {n: r.score for n, r in a.items()} == {n: r.score for n, r in b.items()}


# -- no proxy changes what another sees (#19 item 2) -------------------------------------------------
def test_a_proxy_changing_its_inputs_changes_no_other():
    @register_proxy("zeroes_inputs")
    def zeroes_inputs(net, c):
        c.inputs.mul_(0)
        c.targets.zero_()
        c.options["swap_repeats"] = 1
        return 1.0

    c = ctx()
    before = c.inputs.clone()
    res = compute_scores(["zeroes_inputs", "snip", "swap"], make_net, c)
    assert res["snip"].score == compute_one("snip", make_net, ctx()).score != 0.0
    assert res["swap"].score == compute_one("swap", make_net, ctx()).score
    assert torch.equal(c.inputs, before) and c.options["swap_repeats"] == 3


CHANGES = {
    "default dtype": lambda: torch.set_default_dtype(torch.float64),
    "grad mode": lambda: torch.set_grad_enabled(False),
    "deterministic algorithms": lambda: torch.use_deterministic_algorithms(True, warn_only=True),
    "torch threads": lambda: torch.set_num_threads(torch.get_num_threads() + 1),
    "anomaly detection": lambda: torch.set_anomaly_enabled(True),
    "cudnn.benchmark": lambda: setattr(torch.backends.cudnn, "benchmark", not torch.backends.cudnn.benchmark),
    "numpy error handling": lambda: np.seterr(all="raise"),
    "global module hooks": lambda: nn.modules.module.register_module_forward_hook(lambda *a: None),
}


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_a_proxy_leaving_global_state_changed_is_a_failure_and_changes_no_other(what):
    @register_proxy("leaky", images=False)
    def leaky(net, c):
        CHANGES[what]()
        return 1.0

    before = GlobalState.capture()
    clean = {n: compute_one(n, make_net, ctx()).score for n in ("synflow", "snip", "jacov")}
    res = compute_scores(["leaky", "synflow", "snip", "jacov"], make_net, ctx(), share=False)
    assert math.isnan(res["leaky"].score)
    assert res["leaky"].error.startswith(f"left torch's global state changed: {what} ")
    assert {n: res[n].score for n in clean} == clean
    assert GlobalState.capture() == before


def test_random_draws_of_one_proxy_do_not_move_the_next():
    @register_proxy("draws", images=False)
    def draws(net, c):
        torch.randn(100)
        np.random.rand(100)
        random.random()
        return 1.0

    @register_proxy("reads", images=False)
    def reads(net, c):
        return float(torch.rand(())) + np.random.rand() + random.random()

    state = np.random.get_state(), random.getstate()
    alone = compute_one("reads", make_net, ctx()).score
    np.random.set_state(state[0])
    random.setstate(state[1])
    assert compute_scores(["draws", "reads"], make_net, ctx())["reads"].score == alone


# -- exits and interrupts (#19 item 8) --------------------------------------------------------------
def test_system_exit_is_a_failure_of_the_proxy():
    @register_proxy("exits", images=False)
    def exits(net, c):
        sys.exit(3)

    res = compute_scores(["exits", "params"], make_net, ctx())
    assert math.isnan(res["exits"].score) and res["exits"].error == "SystemExit: 3"
    assert math.isfinite(res["params"].score)


@pytest.fixture
def sigint():
    """Put SIGINT's handler back after a test that changes it."""
    old = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, old)


def _interrupting():
    @register_proxy("interrupts", images=False)
    def interrupts(net, c):
        raise KeyboardInterrupt


def test_a_keyboard_interrupt_no_ctrl_c_can_have_caused_is_a_failure(sigint):
    _interrupting()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a worker process: the parent decides what Ctrl-C means
    res = compute_scores(["interrupts", "params"], make_net, ctx())
    assert res["interrupts"].error == "KeyboardInterrupt" and math.isfinite(res["params"].score)
    signal.signal(signal.SIGINT, mark_stop_handler(lambda *a: None))  # in-process under the engine's handler
    assert compute_one("interrupts", make_net, ctx()).error == "KeyboardInterrupt"


def test_ctrl_c_still_stops(sigint):
    _interrupting()
    # Python's own handler, as in an interactive session (a shell's background job starts with SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with pytest.raises(KeyboardInterrupt):  # Python's own handler: it may be the user's Ctrl-C
        compute_scores(["interrupts", "params"], make_net, ctx())

    @register_proxy("stopped", images=False)
    def stopped(net, c):
        raise StopRequested

    signal.signal(signal.SIGINT, mark_stop_handler(lambda *a: None))
    with pytest.raises(StopRequested):
        compute_scores(["stopped", "params"], make_net, ctx())


EXITING = """
import os
from zcbench.proxies import register_proxy

@register_proxy("hard_exit", images=False, version="1")
def hard_exit(net, ctx):
    os._exit(4)

@register_proxy("interrupted", images=False, version="1")
def interrupted(net, ctx):
    raise KeyboardInterrupt
"""


def _score(tmp_path: Path, plugin: Path, proxy: str, workers: int) -> subprocess.CompletedProcess:
    args = ["score", "--space", "nb201", "--limit", "2", "--plugin", plugin, "--proxy", proxy, "--proxy", "params"]
    args += ["--workers", workers, "--out", tmp_path / f"{proxy}.h5", "--quiet"]
    return subprocess.run(
        [sys.executable, "-m", "zcbench", *map(str, args)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )


def _errors(path: Path, proxy: str) -> list[str]:
    with h5py.File(path, "r") as f:
        (setting,) = f[f"runs/nb201/cifar10/{proxy}"]
        return [e.decode() for e in f[f"runs/nb201/cifar10/{proxy}/{setting}/error"][:]]


@pytest.mark.slow
def test_os_exit_in_process_and_keyboard_interrupt_in_a_worker_are_failures_of_the_proxy(tmp_path):
    plugin = tmp_path / "exiting.py"
    plugin.write_text(EXITING)
    p = _score(tmp_path, plugin, "hard_exit", 0)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    assert _errors(tmp_path / "hard_exit.h5", "hard_exit") == ["called os._exit(4)"] * 2
    p = _score(tmp_path, plugin, "interrupted", 1)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    assert _errors(tmp_path / "interrupted.h5", "interrupted") == ["KeyboardInterrupt"] * 2


# -- out of memory ------------------------------------------------------------------------------------
def _needs_memory(seen: list | None = None):
    @register_proxy("needs_memory")
    def needs_memory(net, c):
        big = torch.zeros(1000)
        if seen is not None:
            seen.append(weakref.ref(big))
        if c.split_data == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return float(c.split_data)


def test_out_of_memory_is_a_failure_unless_split_is_asked_for(monkeypatch):
    seen: list = []
    _needs_memory(seen)
    res = compute_scores(["needs_memory", "snip"], make_net, ctx())
    assert math.isnan(res["needs_memory"].score) and res["needs_memory"].error == "out of memory at batch 8 on cpu"
    assert math.isfinite(res["snip"].score)
    emptied = []

    def empty_cache():  # outside the except block, the failed attempt already freed
        emptied.append((sys.exc_info()[0], [r() for r in seen]))

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", empty_cache)
    seen.clear()
    assert compute_one("needs_memory", make_net, ctx(), split_on_oom=True).score == 2.0
    assert emptied == [(None, [None])]


def test_out_of_memory_reason_names_the_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H200")
    c = ctx(64)
    c.device = torch.device("cuda", 0)
    assert oom_reason(c, 1) == "out of memory at batch 64 on NVIDIA H200"
    assert oom_reason(c, 4) == "out of memory at batch 64 split in 4 on NVIDIA H200"


MEMORY_PLUGIN = """
import torch
from zcbench.proxies import register_proxy

@register_proxy("needs_memory", version="1")
def needs_memory(net, ctx):
    if ctx.split_data == 1:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    return float(ctx.split_data)
"""


def test_oom_run_fails_by_default_and_split_is_a_run_of_its_own(tmp_path):
    plugin = tmp_path / "memory.py"
    plugin.write_text(MEMORY_PLUGIN)
    out = tmp_path / "r.h5"
    base = ["score", "--space", "nb201", "--limit", "2", "--synthetic", "--batch-size", "4", "--plugin", plugin]
    base += ["--proxy", "needs_memory", "--out", out, "--quiet"]
    run = CliRunner().invoke(main, [str(a) for a in base])
    assert run.exit_code == 0, run.output
    status = CliRunner().invoke(main, ["status", str(out)])
    assert "2 x out of memory at batch 4 on cpu" in status.output
    assert (
        "what to do: out of GPU memory: score with fewer --workers per GPU or a smaller --batch-size" in status.output
    )
    run = CliRunner().invoke(main, [str(a) for a in [*base, "--oom", "split"]])
    assert run.exit_code == 0, run.output
    with h5py.File(out, "r") as f:
        settings = sorted(f["runs/nb201/cifar10/needs_memory"])
        assert len(settings) == 2  # the split values never join the unsplit run
        scores = {s: f[f"runs/nb201/cifar10/needs_memory/{s}/score"][:].tolist() for s in settings}
    assert sorted(map(str, scores.values())) == ["[2.0, 2.0]", "[nan, nan]"]


def test_run_keys_of_oom_split_and_batch_size():
    plain = RunSettings("nb201", "cifar10", ("all",), batch_size=16)
    split = RunSettings("nb201", "cifar10", ("all",), batch_size=16, oom="split")
    for p in ("snip", "grad_norm", "fisher", "jacov", "zico"):  # they read ctx.split_data
        assert split.run_key(p) != plain.run_key(p) and '"oom": "split"' in split.run_key(p).options
    for p in ("synflow", "params", "nwot", "meco", "swap", "zen"):  # they never do
        assert split.run_key(p) == plain.run_key(p)
    assert plain.run_key("zen").options == '{"batch_size": 16}'  # as before the batch size was a field
    assert plain.run_key("synflow").options == ""
