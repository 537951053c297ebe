"""Plugin proxies end to end: a file (``--plugin``, ``$ZCBENCH_PLUGINS``) or an installed entry point scored
like a built-in — in worker processes, on Ray, in ``bench`` — cached by its code fingerprint, failing like a
built-in, and read by ``correlate``/``plot``/``search``; plus every command of docs/your-proxy.md, run
against a miniature NAS-Bench-Suite-Zero file."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nb201_fixtures as NB201
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from doc_blocks import console_commands

from zcbench.cli import main
from zcbench.engine.scorer import ArchScorer
from zcbench.proxies import PROXIES, plugins
from zcbench.proxies.runner import _finish, as_number
from zcbench.settings import RunSettings
from zcbench.spaces import get_space
from zcbench.store import coverage, iter_runs, load_frame

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "my_proxy.py"
DOC = REPO / "docs" / "your-proxy.md"


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def one_line_error(res, message: str) -> None:
    err = res.stderr.strip()
    assert res.exit_code == 2 and res.stdout == "", res.output
    assert err.startswith("zcbench: error: ") and "\n" not in err and message in err, err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def archs_file(path: Path, n: int, seed: int = 3) -> tuple[Path, list[str]]:
    archs = get_space("nb201").sample(n, seed)
    path.write_text("\n".join(archs) + "\n")
    return path, archs


def scores(out: Path, proxy: str, code: str | None = None) -> dict[str, tuple[float, str]]:
    """{arch: (score, error)} of ``proxy``'s run (the one whose code fingerprint is ``code``, if given)."""
    (cols,) = [c for a, c in iter_runs(out) if a["proxy"] == proxy and code in (None, a.get("code"))]
    return {a: (float(s), str(e)) for a, s, e in zip(cols["arch"], cols["score"], cols["error"])}


# -- (a) workers -------------------------------------------------------------------------------------
def test_plugin_in_two_workers_equals_the_function_called_directly(tmp_path):
    archs_txt, archs = archs_file(tmp_path / "archs.txt", 4)
    out = tmp_path / "w.h5"
    res = cli("score", "--space", "nb201", "--dataset", "cifar100", "--archs", archs_txt, "--plugin", EXAMPLE,
              "--proxy", "preact", "--workers", 2, "--out", out, "--quiet")  # fmt: skip
    assert res.exit_code == 0 and "preact: 4 scored in" in res.stdout, res.output
    fn = PROXIES.get("preact").fn  # the example, as --plugin loaded it here
    scorer = ArchScorer(RunSettings("nb201", "cifar100", ("preact",)).validated())
    got = scores(out, "preact")
    assert set(got) == set(archs)
    for arch in archs:
        want = fn(scorer.make_net(arch)(), scorer.context(arch))
        assert got[arch] == (want, "") and math.isfinite(want)
    (cov,) = coverage(out)
    assert (cov.proxy, cov.code, cov.setting) == ("preact", "plugin v1", "s0-cv1")


# -- (b) code fingerprints ---------------------------------------------------------------------------
SCALED = """
    from zcbench import register_proxy


    @register_proxy("scaled", images=False{version})
    def scaled(net, ctx):
        return {scale} * sum(p.numel() for p in net.parameters())
"""


def test_editing_a_plugin_recomputes_and_status_shows_both_codes(tmp_path):
    plugin = write(tmp_path / "scaled.py", SCALED.format(version="", scale=1.0))
    out = tmp_path / "r.h5"
    args = ("score", "--space", "nb201", "--limit", 3, "--plugin", plugin, "--proxy", "scaled", "--out", out)
    assert "scaled: 3 scored" in cli(*args).stdout
    first = {a: s for a, (s, _) in scores(out, "scaled").items()}
    assert "scaled: 3 cached" in cli(*args).stdout  # unchanged file: cached
    code1 = hashlib.sha256(plugin.read_bytes()).hexdigest()[:12]
    write(plugin, SCALED.format(version="", scale=2.0))
    code2 = hashlib.sha256(plugin.read_bytes()).hexdigest()[:12]
    assert "scaled: 3 scored" in cli(*args).stdout  # edited: a new run
    assert {a: s for a, (s, _) in scores(out, "scaled", code2).items()} == {a: 2 * s for a, s in first.items()}
    assert {a: s for a, (s, _) in scores(out, "scaled", code1).items()} == first  # the old run, kept apart
    assert sorted(c.code for c in coverage(out)) == sorted([f"plugin {code1}", f"plugin {code2}"])
    res = cli("status", out)
    assert res.exit_code == 0 and res.stdout.split("\n")[0].split()[-1] == "code"
    assert f"plugin {code1}" in res.stdout and f"plugin {code2}" in res.stdout


def test_declared_version_pins_the_fingerprint(tmp_path):
    plugin = write(tmp_path / "scaled.py", SCALED.format(version=', version="1"', scale=1.0))
    out = tmp_path / "r.h5"
    args = ("score", "--space", "nb201", "--limit", 2, "--plugin", plugin, "--proxy", "scaled", "--out", out)
    assert "scaled: 2 scored" in cli(*args).stdout
    first = scores(out, "scaled")
    write(plugin, SCALED.format(version=', version="1"', scale=3.0))  # edited, version kept: the author's call
    assert "scaled: 2 cached" in cli(*args).stdout and scores(out, "scaled") == first
    write(plugin, SCALED.format(version=', version="2"', scale=3.0))
    assert "scaled: 2 scored" in cli(*args).stdout
    assert {c.code for c in coverage(out)} == {"plugin v1", "plugin v2"}


def test_a_plugin_edited_after_planning_is_refused_by_the_workers(tmp_path, monkeypatch):
    """Workers load the plugin again: code that changed since the run was validated would be scored under the
    old fingerprint, so a worker refuses it (one line) instead."""
    from zcbench.engine.gpu import numerics_state, restore_numerics
    from zcbench.engine.worker import WorkerCore
    from zcbench.errors import PluginError

    plugin = write(tmp_path / "scaled.py", SCALED.format(version="", scale=1.0))
    monkeypatch.setenv(plugins.ENV, str(plugin))
    settings = RunSettings("nb201", "cifar10", ("scaled",)).validated()
    assert settings.plugins == (str(plugin.resolve()),)  # $ZCBENCH_PLUGINS travels with the run, by absolute path
    numerics = numerics_state()  # a worker core pins its process's numerics: give this one back afterwards
    try:
        WorkerCore(settings, "cpu")  # the same code: fine
        write(plugin, SCALED.format(version="", scale=2.0))
        with pytest.raises(PluginError, match="scaled changed since this run started"):
            WorkerCore(settings, "cpu")
    finally:
        restore_numerics(numerics)


# -- (c) $ZCBENCH_PLUGINS, on Ray ----------------------------------------------------------------------
@pytest.mark.slow
def test_env_plugins_listed_and_scored_on_ray(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    other = write(tmp_path / "other.py", SCALED.format(version="", scale=1.0))
    monkeypatch.setenv(plugins.ENV, f"{EXAMPLE}{os.pathsep}{other}")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    res = cli("proxies", "preact", "scaled")
    assert res.exit_code == 0
    assert "from plugin:my_proxy.py (code v1)" in res.stdout and "from plugin:other.py (code " in res.stdout
    archs_txt, archs = archs_file(tmp_path / "archs.txt", 3, seed=5)
    out = tmp_path / "ray.h5"
    res = cli("score", "--space", "nb201", "--archs", archs_txt, "--proxy", "preact", "--proxy", "scaled",
              "--executor", "ray", "--workers", 2, "--out", out, "--quiet")  # fmt: skip
    assert res.exit_code == 0 and "preact: 3 scored; scaled: 3 scored in" in res.stdout, res.output
    scorer = ArchScorer(RunSettings("nb201", "cifar10", ("preact",)).validated())
    got = scores(out, "preact")
    for arch in archs:
        assert got[arch] == (PROXIES.get("preact").fn(scorer.make_net(arch)(), scorer.context(arch)), "")
    assert all(err == "" and s > 0 for s, err in scores(out, "scaled").values())


# -- (d) entry points --------------------------------------------------------------------------------
def _distribution(site: Path, dist: str, version: str, entry_points: dict[str, str]) -> None:
    """What pip leaves in site-packages: ``<dist>-<version>.dist-info/{METADATA,entry_points.txt}``."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{plugins.ENTRY_POINT_GROUP}]\n{lines}")


def test_entry_point_plugins_listed_and_broken_ones_warned_once(tmp_path):
    site = tmp_path / "site"
    write(site / "tiny_proxy.py", """
        from zcbench import register_proxy


        @register_proxy("tiny", images=False, paper="Someone, 2025")
        def tiny(net, ctx):
            return 1.0


        @register_proxy("tiny_pinned", images=False, version="7")
        def tiny_pinned(net, ctx):
            return 2.0
    """)  # fmt: skip
    write(site / "shadowing_proxy.py", SCALED.format(version="", scale=1.0).replace('"scaled"', '"synflow"'))
    _distribution(site, "tiny-proxy", "0.3", {"tiny": "tiny_proxy"})
    _distribution(site, "broken-proxy", "1.0", {"broken": "no_such_module_here"})
    _distribution(site, "shadowing-proxy", "2.0", {"synflow": "shadowing_proxy"})
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(site)]), ZCBENCH_PROGRESS="0")
    env.pop(plugins.ENV, None)
    res = subprocess.run([sys.executable, "-m", "zcbench", "proxies", "tiny*", "synflow"], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    tiny = lines.index(next(ln for ln in lines if ln.startswith("tiny ")))
    assert "Someone, 2025" in lines[tiny] and lines[tiny + 1].split() == [
        "from", "entry-point:tiny-proxy", "(code", "tiny-proxy==0.3)",
    ]  # fmt: skip
    assert "from entry-point:tiny-proxy (code v7)" in res.stdout  # a declared version= wins
    assert any(ln.startswith("synflow ") and "Tanaka" in ln for ln in lines)  # the built-in, not the shadow
    warnings = res.stderr.splitlines()
    assert len(warnings) == 2 and all(w.startswith("zcbench: warning: plugin entry point ") for w in warnings)
    assert any("broken (broken-proxy==1.0) failed to load: ModuleNotFoundError" in w for w in warnings)
    assert any("'synflow' is already registered (zcbench)" in w for w in warnings)


# -- (e) shadowing -----------------------------------------------------------------------------------
def test_shadowing_a_registered_name_is_one_line_before_any_work(tmp_path):
    shadow = write(tmp_path / "shadow.py", SCALED.format(version="", scale=1.0).replace('"scaled"', '"synflow"'))
    out = tmp_path / "never.h5"
    res = cli("score", "--space", "nb201", "--limit", 1, "--plugin", shadow, "--proxy", "params", "--out", out)
    one_line_error(res, "plugin " + str(shadow) + ": proxy 'synflow' is already registered (zcbench); choose another")
    assert not out.exists() and PROXIES.get("synflow").builtin
    one_line_error(cli("proxies", "--plugin", shadow), "already registered (zcbench)")
    first = write(tmp_path / "first.py", SCALED.format(version="", scale=1.0))
    second = write(tmp_path / "second.py", SCALED.format(version="", scale=2.0))
    res = cli("score", "--space", "nb201", "--limit", 1, "--plugin", first, "--plugin", second, "--proxy", "scaled",
              "--out", out)  # fmt: skip
    one_line_error(res, "proxy 'scaled' is already registered (plugin:first.py)")
    assert not out.exists()


# -- (f) failures ------------------------------------------------------------------------------------
def test_a_failing_plugin_proxy_is_nan_with_its_reason(tmp_path):
    plugin = write(tmp_path / "bad.py", """
        from zcbench import register_proxy


        @register_proxy("raises", images=False)
        def raises(net, ctx):
            raise ValueError("no good\\nsecond line")


        @register_proxy("text", images=False)
        def text(net, ctx):
            return "abc"


        @register_proxy("vector", images=False)
        def vector(net, ctx):
            import torch

            return torch.ones(3)
    """)  # fmt: skip
    out = tmp_path / "bad.h5"
    res = cli("score", "--space", "nb201", "--limit", 2, "--plugin", plugin, "--proxy", "raises,text,vector",
              "--out", out, "--quiet")  # fmt: skip
    assert (
        res.exit_code == 0
        and "raises: 2 scored, 2 failed; text: 2 scored, 2 failed; vector: 2 scored, 2 failed" in res.stdout
    ), res.output
    for proxy, reason in [
        ("raises", "ValueError: no good"),
        ("text", "returned str, not a number"),
        ("vector", "returned Tensor of shape (3,), not a number"),
    ]:
        got = scores(out, proxy)
        assert len(got) == 2 and all(math.isnan(s) and e == reason for s, e in got.values()), (proxy, got)
    res = cli("status", out)
    assert "2 x returned str, not a number" in res.stdout


def test_non_numbers_in_a_shared_pass_and_what_counts_as_a_number():
    assert _finish("x", lambda: "abc", 0.5).error == "returned str, not a number"
    assert _finish("x", lambda: None, 0.5).error == "returned None, not a number"
    assert _finish("x", lambda: float("inf"), 0.5).error == "non-finite value inf"
    assert _finish("x", lambda: torch.tensor(2.5), 0.5).score == 2.5
    for value in (3, 2.5, np.float32(2.5), np.int64(3), torch.tensor([2.5]), np.array(2.5)):
        assert as_number(value) == float(value)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("def f(:\n    pass\n", "syntax.py", "failed to load: SyntaxError: invalid syntax (syntax.py, line 1)"),
        ("import no_such_module_xyz\n", "imports.py", "failed to load: ModuleNotFoundError: No module named"),
        ("x = 1\n", "nothing.py", "registered no proxy (decorate a function with @register_proxy)"),
        (None, "missing.py", "missing.py: no such file"),
    ],
)
def test_a_plugin_that_cannot_load_is_one_line_and_writes_nothing(tmp_path, content, name, message):
    plugin = tmp_path / name
    if content is not None:
        plugin.write_text(content)
    out = tmp_path / "never.h5"
    res = cli("score", "--space", "nb201", "--limit", 1, "--plugin", plugin, "--proxy", "params", "--out", out)
    one_line_error(res, message)
    assert not out.exists() and list(tmp_path.iterdir()) == ([plugin] if content is not None else [])


# -- (g) bench, and the commands that read results ----------------------------------------------------
def test_bench_times_a_plugin_proxy():
    res = cli("bench", "--plugin", EXAMPLE, "--proxy", "preact", "--archs", 1)
    assert res.exit_code == 0, res.output
    assert any(ln.split()[:1] == ["preact"] for ln in res.stdout.splitlines())
    assert "scores identical: yes" in res.stdout
    res = cli("bench-engine", "--plugin", EXAMPLE, "--proxy", "preact", "--archs", 2, "--max-workers", 0)
    assert res.exit_code == 0 and res.stdout.splitlines()[2].split()[:2] == ["0", "2"], res.output


def test_plugin_column_in_correlate_plot_and_search(tmp_path):
    dump = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    NB201.write_nb201_pth(dump, [0, 7, 300, 1234, 5000, 9999, 12345, 15000])
    out = tmp_path / "d.h5"
    res = cli("score", "--space", "nb201", "--dump", dump, "--plugin", EXAMPLE, "--proxy", "preact", "--proxy",
              "params", "--out", out, "--quiet")  # fmt: skip
    assert res.exit_code == 0 and "preact: 8 scored; params: 8 scored in" in res.stdout, res.output
    plugins._forget(["preact"])  # as in a new process: reading results needs no plugin
    plugins._loaded.clear()
    frame = load_frame(out)
    rows = json.loads(cli("correlate", out, "--format", "json").stdout)
    preact = next(r for r in rows if r["proxy"] == "preact")
    assert preact["n"] == 8
    assert preact["spearman"] == pytest.approx(frame["preact"].corr(frame["val_accuracy"], method="spearman"))
    res = cli("plot", out, "--kind", "scatter", "--proxy", "preact", "--format", "png", "--out", tmp_path / "plots")
    assert res.exit_code == 0 and (tmp_path / "plots" / "scatter_nb201_cifar10_rank.png").stat().st_size > 0
    res = cli("search", out, "--proxy", "preact", "--algo", "random", "--warmup", 5, "--budget", 6, "--rounds", 2)
    assert res.exit_code == 0, res.output
    assert "random+warmup5" in res.stdout and "proxy preact" in res.stdout


# -- docs/your-proxy.md --------------------------------------------------------------------------------
SUITE_ZERO_PROXIES = "epe_nas fisher flops grad_norm grasp jacov l2_norm nwot params plain snip synflow zen".split()
NOISE = (2.0, 3.0, 1.2, 2.5, 4.0, 2.2, 3.0, 1.6, 1.4, 6.0, 2.6, 1.0, 2.0)  # per proxy: how far from the truth
OP_VALUE = {0: 0.5, 1: -2.0, 2: 2.0, 3: 1.0, 4: 0.0}  # NASLib's NB201 op order: skip, none, conv3x3, conv1x1, pool


def write_suite_zero(path: Path, n: int = 16, seed: int = 0) -> Path:
    """A miniature ``zc_nasbench201.json`` in the published layout ({dataset: {NASLib key: {val_accuracy,
    proxy: {score, time}}}}; keys are NASLib op-index tuples): the same ``n`` cells for the three tasks,
    accuracies and the thirteen proxies' scores made up around one made-up cell quality."""
    rng = np.random.default_rng(seed)
    keys: list[tuple[int, ...]] = []
    while len(keys) < n:
        key = tuple(int(x) for x in rng.integers(0, 5, 6))
        if key not in keys:
            keys.append(key)
    data = {}
    for task, base in (("cifar10", 80.0), ("cifar100", 55.0), ("ImageNet16-120", 30.0)):
        records = {}
        for key in keys:
            quality = sum(OP_VALUE[o] for o in key)
            rec: dict = {"val_accuracy": round(base + quality + float(rng.normal(0, 1.5)), 2)}
            for proxy, sd in zip(SUITE_ZERO_PROXIES, NOISE):
                rec[proxy] = {"score": round(quality + float(rng.normal(0, sd)), 4), "time": 0.01}
            records[str(key)] = rec
        data[task] = records
    path.write_text(json.dumps(data))
    return path


def doc_commands() -> list[tuple[str, str]]:
    return console_commands(DOC, "$ ")


def shows(expected: str, got: str) -> bool:
    """``got`` is what the doc shows: the same lines, where a line ``...`` stands for any lines and the
    seconds of a ``score`` summary may differ."""

    def norm(t: str) -> str:
        return re.sub(r"\bin \d+\.\d+s\b", "in <t>s", t)

    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + "\n" for line in norm(expected).splitlines()
    )
    return re.fullmatch(pattern, norm(got)) is not None


def run_doc_command(cmd: str, cwd: Path) -> tuple[int, str]:
    """A plain ``zcbench ...`` in this process (fast); a shell line through bash, with this checkout's zcbench."""
    if not re.search(r"[|>;&]", cmd) and cmd.startswith("zcbench "):
        res = cli(*shlex.split(cmd)[1:])
        return res.exit_code, res.stdout
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    shim = f'zcbench() {{ {shlex.quote(sys.executable)} -m zcbench "$@"; }}\n'
    res = subprocess.run(["bash", "-c", shim + cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    return res.returncode, res.stdout


def test_doc_shows_the_example_file():
    blocks = re.findall(r"```python file=examples/my_proxy.py\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks[0] == EXAMPLE.read_text()


@pytest.mark.slow
def test_doc_walkthrough_runs_and_prints_what_the_doc_shows(tmp_path, monkeypatch, capsys):
    here, snapshot = tmp_path / "cli", tmp_path / "python"
    here.mkdir()
    monkeypatch.chdir(here)
    shutil.copy(EXAMPLE, here / "my_proxy.py")
    write_suite_zero(here / "zc_nasbench201.json")
    cmds = doc_commands()
    assert len(cmds) >= 10 and any("compare results.h5 --ties" in c for c, _ in cmds)
    for cmd, expected in cmds:
        if cmd.startswith("sed ") and not snapshot.exists():
            shutil.copytree(here, snapshot)  # before the edit: where the Python variant runs, below
        code, stdout = run_doc_command(cmd, here)
        assert code == 0, (cmd, stdout)
        assert shows(expected, stdout), f"{cmd}\n--- doc\n{expected}\n--- got\n{stdout}"
    assert all(c.done == 16 for c in coverage(here / "results.h5") if c.proxy == "preact")  # --archs-from
    assert {c.code for c in coverage(here / "results.h5") if c.proxy == "preact"} == {"plugin v1", "plugin v2"}
    # the Python variant, as a notebook runs it (module imported, its function passed to score), next to the
    # CLI's results: the same code fingerprint, so every score is found cached
    plugins._forget(["preact"])
    plugins._loaded.clear()
    monkeypatch.chdir(snapshot)
    monkeypatch.syspath_prepend(str(snapshot))
    monkeypatch.delitem(sys.modules, "my_proxy", raising=False)
    python = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)[-1]
    namespace: dict = {}
    exec(compile(python, str(DOC), "exec"), namespace)
    assert PROXIES.get("preact").origin == "module:my_proxy"
    assert {(c.dataset, c.code) for c in coverage(snapshot / "results.h5") if c.proxy == "preact"} == {
        (t, "plugin v1") for t in ("cifar10", "cifar100", "ImageNet16-120")
    }
    mine = namespace["table"].query("proxy == 'preact'").set_index("dataset")
    assert mine["rho"].to_dict() == pytest.approx({"cifar10": 0.718, "cifar100": 0.579, "ImageNet16-120": 0.697},
                                                  abs=5e-4)  # fmt: skip
    assert "tied_with_best" in capsys.readouterr().out
