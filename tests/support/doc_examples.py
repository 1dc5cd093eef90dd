"""The shell examples of the docs: each fenced ```bash block split into its commands.

A command runs from its first line to the line where it ends for the shell: lines ending in a
backslash continue it, and so does a quote left open (a ``-d '{`` body spread over several lines).
Comment lines between commands are not commands; a comment at the end of a command's last line, and
the ``# → …`` lines right after it, are its ``comment`` (where the docs write the status it answers).

    for command in shell_commands(Path("README.md")):
        command.name, command.code, command.expected_status
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

SHELL_FENCES = frozenset({"bash", "sh", "shell", "console"})
_FENCE = re.compile(r"^```(\S*)\s*$")
_STATUS = re.compile(r"→\s*([1-5]\d\d)\b")
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=")


@dataclass(frozen=True)
class ShellCommand:
    file: str  # as given (e.g. "README.md")
    line: int  # 1-based line of its first line
    code: str  # the command as written, without its trailing comment (continuations and newlines kept)
    comment: str = ""  # its trailing comment and the "# → …" lines right after it

    @property
    def name(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def flat(self) -> str:
        """The command on one line (backslash-newline joined, runs of blanks as one space)."""
        return " ".join(self.code.replace("\\\n", " ").split())

    @property
    def program(self) -> str:
        return self.flat.split(" ", 1)[0]

    @property
    def assigned(self) -> str | None:
        """``NAME`` for a plain ``NAME=value`` line (the docs' ``API=…``, ``KEY=…``), else None."""
        match = _ASSIGNMENT.match(self.flat)
        return match.group(1) if match and len(shlex.split(self.flat)) == 1 else None

    @property
    def expected_status(self) -> int | None:
        """The status the docs say it answers (``# → 201 …``, ``# → 204``), if they say one."""
        match = _STATUS.search(self.comment)
        return int(match.group(1)) if match else None


def _scan(line: str, quote: str | None) -> tuple[str | None, int]:
    """Shell quoting over one line: ``(the quote still open at its end, where a comment starts or -1)``."""
    i = 0
    while i < len(line):
        char = line[i]
        if quote == "'":
            if char == "'":
                quote = None
        elif quote == '"':
            if char == "\\":
                i += 1
            elif char == '"':
                quote = None
        elif char == "\\":
            i += 1
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return None, i
        i += 1
    return quote, -1


def shell_blocks(text: str) -> list[tuple[int, list[str]]]:
    """``(line number of the block's first line, its lines)`` for every fenced shell block."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        fence = _FENCE.match(line)
        if current is None:
            if fence and fence.group(1).lower() in SHELL_FENCES:
                current, start = [], number + 1
        elif fence and not fence.group(1):
            blocks.append((start, current))
            current = None
        else:
            current.append(line)
    if current is not None:
        raise ValueError(f"a ``` block opened before line {start} is never closed")
    return blocks


def shell_commands(path: Path, *, name: str | None = None) -> list[ShellCommand]:
    """Every command of every fenced shell block of ``path``, in document order."""
    name = name or path.name
    commands: list[ShellCommand] = []
    for start, lines in shell_blocks(path.read_text(encoding="utf-8")):
        pending: list[str] = []
        first = 0
        quote: str | None = None
        last: int | None = None  # index in ``commands`` of a command whose "# → …" lines may follow
        for offset, line in enumerate(lines):
            number = start + offset
            stripped = line.strip()
            if not pending:
                if stripped.startswith("#") and stripped[1:].lstrip().startswith("→") and last is not None:
                    done = commands[last]
                    commands[last] = ShellCommand(done.file, done.line, done.code, f"{done.comment}\n{stripped}")
                    continue
                last = None
                if not stripped or stripped.startswith("#"):
                    continue
                first = number
            quote, comment_at = _scan(line, quote)
            if quote is None and comment_at < 0 and line.endswith("\\"):
                pending.append(line)
                continue
            if quote is not None:
                pending.append(line)
                continue
            code = line if comment_at < 0 else line[:comment_at]
            comment = "" if comment_at < 0 else line[comment_at:].strip()
            text = "\n".join([*pending, code.rstrip()])
            commands.append(ShellCommand(name, first, text, comment))
            last = len(commands) - 1
            pending = []
        if pending:
            raise ValueError(f"{name}:{first}: the command never ends (an open quote or a final backslash)")
    return commands
