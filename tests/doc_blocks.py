"""Reading the ```console blocks of a doc page: the commands after `$ ` and the output each one shows."""

from __future__ import annotations

import re
from pathlib import Path


def console_commands(doc: Path, prefix: str = "$ ") -> list[tuple[str, str]]:
    """``(command, expected stdout)`` for every ``$ `` line of the page's console blocks; every command must
    start with ``prefix``, and a page that shows commands keeps them in ```console blocks."""
    text = doc.read_text()
    assert not re.search(r"```(bash|sh|shell)\b", text), "shell commands belong in ```console blocks"
    out = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        for chunk in re.split(r"^(?=\$ )", block, flags=re.M):
            if chunk.strip():
                cmd, _, expected = chunk.partition("\n")
                assert cmd.startswith(prefix), cmd
                out.append((cmd[2:], expected))
    return out
