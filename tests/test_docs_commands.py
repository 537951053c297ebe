"""Every command shown in README.md and docs/*.md runs as shown, against miniature files.

One rule for every page (pages are globbed when the tests are collected, so a new page is covered as it
appears):

* a fenced block marked ```bash (or ```sh, ```shell) holds commands, one per line: a line ending in ``\\``
  joins the next, ``# comments`` are stripped, blank lines are skipped;
* a ```console block holds ``$ `` commands followed by what they print; only the commands are run here
  (docs/compare.md's output is compared exactly by tests/test_significance.py);
* the ```python blocks of a page are one session: they run in order as one script (``python -c``, like a
  notebook: spawned workers do not re-run it), in the page's sandbox, after the page's commands; a
  ```python file=PATH block is a listing of the repository's PATH instead, and must equal that file;
* other languages (```text for synopses, ```toml, ...) are not run. A block without a language that shows a
  ``zcbench`` or ``make`` command fails: the writer says ```bash or ```text.

Each page runs in a sandbox of its own, its cases in order (two pages at a time): a folder holding miniature
files under the exact names the docs use (tests/docs_fixtures.py and the benchmark fixture modules), the
checkout's ``configs/``, ``Makefile`` and ``examples/`` (whose files also sit at the top, as a reader who wrote
them has them), and a ``HOME`` whose ``~/data`` holds miniature CIFAR-10, CIFAR-100 and ImageNet16. Commands run
with ``bash -c`` there, with ``ZCBENCH_PROGRESS=0``, the checkout on ``PYTHONPATH``, a ``zcbench`` on ``PATH``
that runs ``python -m zcbench``, and ``PIP=true`` (``make demo`` installs nothing: zcbench is importable
already). A command passes when it exits 0, prints no traceback, and the file it writes (``-o``, ``--out``,
``--curves``, ``>``) exists. Selecting one case (``-k``) still runs its page's earlier cases first.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docs_fixtures as DF
import nb101_fixtures as NB101
import nb201_fixtures as NB201
import pytest
import tnb101_fixtures as TNB101
import torch
from download_fixtures import swap_csv

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# Commands that cannot run here, by a regular expression searched in the command (mostly a plain substring),
# with the reason. Everything else must run and exit 0.
NEEDS = {
    "--device cuda": "needs a CUDA GPU (runs where torch.cuda.is_available())",
    r"make (-\S+ )*reproduce-": "needs the real multi-GB dumps and images; tests/test_makefile.py dry-runs the targets",
    r"zcbench download (?!--list)": "needs the network; tests/test_download.py downloads from a local server",
    "make test": "installs, then runs the test suite this test is part of",
    "python -m pytest": "runs the test suite this test is part of",
    "pip install": "installs from the network into this environment",
    r"^ruff ": "lints the checkout (CI runs it there), not a sandbox",
    "--executor ray": "needs Ray (pip install 'zcbench[ray]'; CI installs it)",
}
# What makes a NEEDS entry runnable after all.
AVAILABLE = {
    "--device cuda": torch.cuda.is_available,
    "--executor ray": lambda: importlib.util.find_spec("ray") is not None,
}
# Commands that run here but too long for the suite, with what was measured on the 2-core CPU machine; they run
# when ZCBENCH_TEST_SLOW=1.
SLOW: dict[str, str] = {}  # substring -> why a documented command is too slow for CI (run with ZCBENCH_TEST_SLOW=1)
# Commands that run in the full suite but take long enough to leave out of the inner loop (pytest -m "not slow").
MARKED_SLOW = ("make demo", "--executor ray")

# Known failures waiting for an edit someone else is making: a key is searched (as a substring) in the case's
# id, "<page>: block languages", "<page>:python ..." or "<page>:<line>: <command>". Each case still runs; one
# that passes fails with "remove it from PENDING", so the integrator empties this as the edits land.
PENDING: dict[str, str] = {}

# Pages that start from a results file scored earlier (their commands read results/zcbench.h5 and never write
# it): their sandbox begins with docs_fixtures.write_scored_results(results/zcbench.h5, **these arguments).
STARTS_FROM_RESULTS = {
    "docs/compare.md": {"n": 200},  # NB201 cifar10 + cifar100, synflow, snip, grad_norm (as the page's examples)
    "docs/search.md": {"n": 15625, "datasets": ("cifar100",), "proxies": ("synflow",)},  # the paper's setting
}

SHELL_LANGS = {"bash", "sh", "shell"}
COMMAND_START = re.compile(r"^\s*(\$\s+)?(zcbench|make)\s")
FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)(.*)$")
LISTING = re.compile(r"\bfile=(\S+)")
OUTPUT_FLAGS = {"-o", "--out", "--curves", ">"}
TIMEOUT_S = 300
PAGES_AT_ONCE = 2
# The dump's architectures (official indices of the miniature NB201 dumps; the Suite-Zero file holds them too).
NB201_INDICES = [0, 7, 42, 300, 1234, 9999]
NB201_ARCHS = [NB201.official_order()[i] for i in NB201_INDICES]  # the miniature dump's architectures
# Pages whose Suite-Zero NB201 file holds DF.NB201_SUITE_SIZE cells (elsewhere only the dump's: your-proxy.md scores
# every cell it holds, three times)
LARGE_SUITE_ZERO = {"docs/predict.md"}


# -- extraction ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    page: str  # path relative to the repository
    line: int  # 1-based line of the command's first line in the page
    text: str

    @property
    def case_id(self) -> str:
        return f"{self.page}:{self.line}: {self.text}"


@dataclass
class Page:
    path: str
    commands: list[Command]
    python: list[tuple[int, str]]  # (first line, code) of each ```python block
    listings: list[tuple[int, str, str]]  # (first line, file, text) of each ```python file=PATH block
    unlabeled: list[tuple[int, str]]  # (line, text) of zcbench/make lines in blocks without a language


def strip_comment(line: str) -> str:
    """``line`` without a shell ``# comment`` (a ``#`` at the start or after a blank, outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _shell_commands(lines: list[tuple[int, str]], console: bool) -> list[tuple[int, str]]:
    """(line, command) of a bash block (every line) or a console block (``$ `` lines; the rest is output)."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for no, raw in lines:
        if pending is None and console:
            if not raw.startswith("$ "):
                continue  # output
            raw = raw[2:]
        text = strip_comment(raw.strip())
        if pending is not None:  # the previous line ended in a backslash
            start, text = pending[0], f"{pending[1]} {text}".strip()
        else:
            start = no
        if text.endswith("\\"):
            pending = (start, text[:-1].rstrip())
            continue
        pending = None
        if text:
            out.append((start, text))
    if pending is not None and pending[1]:
        out.append(pending)
    return out


def parse_page(path: Path) -> Page:
    rel = path.relative_to(REPO).as_posix()
    page = Page(rel, [], [], [], [])
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang, listing = m.group(1), m.group(2).lower(), LISTING.search(m.group(3))
        body: list[tuple[int, str]] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append((i + 1, lines[i]))
            i += 1
        i += 1  # the closing fence
        if lang in SHELL_LANGS or lang == "console":
            page.commands += [Command(rel, no, text) for no, text in _shell_commands(body, lang == "console")]
        elif lang == "python" and listing:
            page.listings.append((body[0][0] if body else i, listing.group(1), "\n".join(text for _, text in body)))
        elif lang == "python":
            page.python.append((body[0][0] if body else i, textwrap.dedent("\n".join(text for _, text in body))))
        elif not lang:
            page.unlabeled += [(no, text.strip()) for no, text in body if COMMAND_START.match(text)]
    return page


PARSED = {p.relative_to(REPO).as_posix(): parse_page(p) for p in PAGES}


# -- cases --------------------------------------------------------------------------------------------------
def needs(cmd: Command) -> str | None:
    """Why ``cmd`` cannot run here, or None."""
    for pattern, reason in NEEDS.items():
        if re.search(pattern, cmd.text) and not (pattern in AVAILABLE and AVAILABLE[pattern]()):
            return reason
    if os.environ.get("ZCBENCH_TEST_SLOW") != "1":
        for pattern, reason in SLOW.items():
            if re.search(pattern, cmd.text):
                return f"slow, {reason} (ZCBENCH_TEST_SLOW=1 runs it)"
    return None


def pending(case_id: str) -> str | None:
    return next((reason for key, reason in PENDING.items() if key in case_id), None)


def _cases() -> list:
    out = []
    for page in PARSED.values():
        out += [
            pytest.param(
                page.path,
                c,
                id=f"{page.path}:{c.line}",
                marks=[pytest.mark.slow] if any(k in c.text for k in MARKED_SLOW) else [],
            )
            for c in page.commands
        ]
        if page.python:
            out.append(pytest.param(page.path, None, id=f"{page.path}:python"))
    return out


# -- the sandboxes ------------------------------------------------------------------------------------------
def _build_template(root: Path) -> None:
    """Every miniature file, once per session; each page's sandbox is a copy."""
    work = root / "work"
    work.mkdir(parents=True)
    meta = NB201.write_nb201_pth(work / "NAS-Bench-201-v1_1-096897.pth", NB201_INDICES)
    NB201.write_nb201_pth(work / "NAS-Bench-201-v1_0-e61699.pth", NB201_INDICES, v1_0=True)
    NB201.write_nats_single(work / "NATS-tss-v1_0-3ffb9.pickle.pbz2", NB201_INDICES)
    NB201.write_nats_simple(work / "NATS-tss-v1_0-3ffb9-simple", NB201_INDICES)
    NB101.write_tfrecord(work / "nasbench_only108.tfrecord", NB101.make_runs())
    (work / "DARTS_archs_CIFAR10.csv").write_bytes(swap_csv())
    TNB101.make_tnb101_dump(work / "transnas-bench_v10141024.pth")
    DF.write_suite_zero_files(work, [meta[i] for i in NB201_INDICES])
    for name in ("configs", "Makefile"):  # what a user in a checkout has next to the files
        (work / name).symlink_to(REPO / name)
    DF.write_image_sets(root / "home" / "data")


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("docs-template")
    _build_template(root)
    return root


@dataclass
class Sandbox:
    work: Path
    home: Path
    env: dict[str, str]


@pytest.fixture(scope="session")
def sandboxes(template, tmp_path_factory):
    """``sandboxes(page)``: the page's sandbox, made on first use and kept for the page's later commands."""
    made: dict[str, Sandbox] = {}
    bin_dir = tmp_path_factory.mktemp("docs-bin")
    shim = bin_dir / "zcbench"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m zcbench "$@"\n')
    shim.chmod(0o755)

    def get(page: str) -> Sandbox:
        if page not in made:
            root = tmp_path_factory.mktemp(re.sub(r"\W", "_", page))
            work, home = root / "work", root / "home"
            shutil.copytree(template / "work", work, symlinks=True)
            shutil.copytree(template / "home", home)
            if (REPO / "examples").is_dir():  # README runs examples/my_proxy.py; your-proxy.md writes my_proxy.py
                shutil.copytree(REPO / "examples", work / "examples")
                for example in (REPO / "examples").glob("*.py"):
                    shutil.copy(example, work / example.name)
            if page in STARTS_FROM_RESULTS:
                DF.write_scored_results(work / "results" / "zcbench.h5", **STARTS_FROM_RESULTS[page])
            if page in LARGE_SUITE_ZERO:  # a predictor's train/test sizes need more cells than the others score
                DF.write_suite_zero_files(work, NB201_ARCHS, nb201_size=DF.NB201_SUITE_SIZE)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("ZCBENCH_", "RAY_", "PYTEST_"))}
            env.update(
                HOME=str(home),
                ZCBENCH_PROGRESS="0",
                ZCBENCH_CACHE=str(root / "cache"),
                PYTHONPATH=str(REPO),
                PATH=os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), env.get("PATH", "")]),
                PIP="true",
            )
            made[page] = Sandbox(work, home, env)
        return made[page]

    return get


# -- running ------------------------------------------------------------------------------------------------
def written_files(command: str, home: Path) -> list[str]:
    """The files a command names as its output: after -o/--out/--curves (or --out=) and after ``>``."""
    try:
        tokens = shlex.split(command, posix=True)
    except ValueError:
        return []
    out = []
    for prev, tok in zip(tokens, tokens[1:]):
        if prev in OUTPUT_FLAGS:
            out.append(tok)
    out += [t.split("=", 1)[1] for t in tokens if t.startswith(("--out=", "--curves="))]
    return [str(home / t[2:]) if t.startswith("~/") else t for t in out]


@dataclass
class Outcome:
    """What running one case gave: the command (or numbered script), its result and the files it names."""

    what: str
    res: subprocess.CompletedProcess
    outputs: list[str]


def run_in(box: Sandbox, argv: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, cwd=box.work, env=box.env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as err:  # one line in the report, the page's later commands still run
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else err.stdout or ""
        return subprocess.CompletedProcess(argv, -9, out, f"killed after {TIMEOUT_S} s")


def session_script(page: str) -> str:
    return "\n\n".join(code for _, code in PARSED[page].python)


def run_page(box: Sandbox, page: str) -> dict[int | None, Outcome]:
    """Every runnable case of ``page`` in order (commands, then the Python session), by line (None: the session)."""
    done: dict[int | None, Outcome] = {}
    for cmd in PARSED[page].commands:
        if needs(cmd) is None:
            done[cmd.line] = Outcome(cmd.text, run_in(box, ["bash", "-c", cmd.text]), written_files(cmd.text, box.home))
    if PARSED[page].python:
        script = session_script(page)
        numbered = "\n".join(f"{n:4d}  {line}" for n, line in enumerate(script.splitlines(), 1))
        done[None] = Outcome(numbered, run_in(box, [sys.executable, "-c", script]), [])
    return done


@pytest.fixture(scope="session")
def page_runs(request, sandboxes):
    """``{page: future of run_page}`` for the pages whose cases are selected: each page's cases run in order, in
    its own sandbox, two pages at a time (the commands are mostly single-threaded), while the tests report."""
    selected = [i for i in request.session.items if getattr(i, "originalname", "") == "test_doc_command_runs"]
    pool = ThreadPoolExecutor(max_workers=PAGES_AT_ONCE)
    try:
        yield {
            page: pool.submit(run_page, sandboxes(page), page)
            for page in sorted({i.callspec.params["page"] for i in selected})
        }
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def report(where: str, run: Outcome, extra: str = "") -> str:
    return (
        f"{where}: {extra or f'exit status {run.res.returncode}'}\n--- command\n{run.what}\n"
        f"--- stdout\n{run.res.stdout[-4000:]}\n--- stderr\n{run.res.stderr[-6000:]}"
    )


def check(box: Sandbox, case_id: str, run: Outcome) -> None:
    print(f"$ {run.what}\n{run.res.stdout}{run.res.stderr}")  # shown with -s or -rP
    assert run.res.returncode == 0, report(case_id, run)
    assert "Traceback (most recent call last)" not in run.res.stderr, report(case_id, run, "a traceback")
    for f in run.outputs:
        assert (box.work / f).exists(), report(case_id, run, f"{f} was not written")


def _with_pending(case_id: str, body) -> None:
    """Run ``body``; a failure of a PENDING case is an expected failure, a pass says to empty PENDING."""
    why = pending(case_id)
    if why is None:
        body()
        return
    try:
        body()
    except AssertionError as err:
        pytest.xfail(f"PENDING ({why}): {str(err).splitlines()[0]}")
    pytest.fail(f"{case_id} passes now: remove its entry from PENDING ({why!r})")


@pytest.mark.parametrize("page, command", _cases())
def test_doc_command_runs(page: str, command: Command | None, sandboxes, page_runs) -> None:
    if command is None:  # the page's Python session
        case_id = f"{page}:python (blocks at lines {', '.join(str(no) for no, _ in PARSED[page].python)})"
    else:
        case_id = command.case_id
        reason = needs(command)
        if reason:
            pytest.skip(f"{command.text}: {reason}")
    run = page_runs[page].result()[command.line if command else None]
    _with_pending(case_id, lambda: check(sandboxes(page), case_id, run))


@pytest.mark.parametrize("page", list(PARSED))
def test_blocks_say_their_language(page: str) -> None:
    """A fenced block without a language that shows a zcbench or make command: ```bash or ```text?"""

    def body() -> None:
        bad = "; ".join(f"line {no}: {text}" for no, text in PARSED[page].unlabeled)
        assert not bad, f"{page}: a block without a language shows commands, say ```bash or ```text: {bad}"

    _with_pending(f"{page}: block languages", body)


def test_listings_equal_their_files() -> None:
    for page in PARSED.values():
        for line, name, text in page.listings:
            path = REPO / name
            assert path.is_file(), f"{page.path}:{line}: the listing names {name}, which the repository lacks"
            assert path.read_text(encoding="utf-8").rstrip("\n") == text.rstrip("\n"), (
                f"{page.path}:{line}: the listing differs from {name}; copy the file into the page"
            )


def test_miniatures_are_read_by_zcbench(template) -> None:
    """Every miniature in the sandbox is a file zcbench's readers take, under its published name."""
    from zcbench.imports.naslib import read_suite_zero
    from zcbench.spaces import get_space

    work = template / "work"
    nb201 = get_space("nb201")
    for name in (
        "NAS-Bench-201-v1_1-096897.pth",
        "NAS-Bench-201-v1_0-e61699.pth",
        "NATS-tss-v1_0-3ffb9.pickle.pbz2",
        "NATS-tss-v1_0-3ffb9-simple",
    ):
        assert len(nb201.load_dump(work / name, "cifar10", use_cache=False).records) == len(NB201_INDICES), name
    assert get_space("nb101").load_dump(work / "nasbench_only108.tfrecord", "cifar10").records
    assert get_space("nb301").load_dump(work / "DARTS_archs_CIFAR10.csv", "cifar10").records
    for half in ("tnb101_micro", "tnb101_macro"):
        assert get_space(half).load_dump(work / "transnas-bench_v10141024.pth", "jigsaw").records
    for path in sorted(work.glob("zc_*.json")):
        runs = read_suite_zero(path)
        assert len({r.proxy for r in runs}) == 13 and all(len(r.archs) >= 2 for r in runs), path.name
    assert len(list(work.glob("zc_*.json"))) == 5
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        x, _ = nb201.make_batch(dataset, 64, 0, data_dir=template / "home" / "data")
        assert x.shape[0] == 64


# -- the extraction rule itself -----------------------------------------------------------------------------
def test_extraction_rule(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    doc = tmp_path / "x.md"
    doc.write_text(
        "```bash\n"
        "zcbench spaces   # list them\n"
        "zcbench score --space nb201 \\\n"
        "    --proxy 'a#b' --sample 2  # comment\n"
        "\n"
        "# a whole-line comment\n"
        "```\n"
        "```console\n"
        "$ zcbench correlate\n"
        "space  proxy\n"
        "$ zcbench compare a b \\\n"
        "    --ties\n"
        "```\n"
        "```python\nx = 1\n```\n"
        "```python file=examples/p.py\ny = 2\n```\n"
        "```text\nzcbench correlate [RESULTS]\n```\n"
        "```\nzcbench plot\nresults → tables\n```\n"
    )
    page = parse_page(doc)
    assert [(c.line, c.text) for c in page.commands] == [
        (2, "zcbench spaces"),
        (3, "zcbench score --space nb201 --proxy 'a#b' --sample 2"),
        (9, "zcbench correlate"),
        (11, "zcbench compare a b --ties"),
    ]
    assert page.python == [(15, "x = 1")]
    assert page.listings == [(18, "examples/p.py", "y = 2")]
    assert page.unlabeled == [(24, "zcbench plot")]
    assert written_files("zcbench export r.h5 -o s.csv --out=t.h5 > ~/u.txt", Path("/h")) == [
        "s.csv",
        "/h/u.txt",
        "t.h5",
    ]
    assert needs(Command("x", 1, "zcbench download --list")) is None
    assert needs(Command("x", 1, "zcbench download nb201-v1_0")) is not None
    assert needs(Command("x", 1, "make -n reproduce-swap")) is not None
