"""Reading the user's failing source line to phrase a fix in their own terms.

Only the text of one line is available (OpEvidence.code), so this is pattern
matching with balanced parentheses, not parsing; when nothing matches, the rules
fall back to a generic fix.
"""

from __future__ import annotations

import re

_NS = r"(?:torch\.|F\.|nn\.functional\.|torch\.nn\.functional\.|np\.|math\.)?"


def calls(code: str, func: str) -> list[tuple[str, str]]:
    """(call text, arguments text) of each `func(...)` in `code` (`log` matches `torch.log(`)."""
    out: list[tuple[str, str]] = []
    for m in re.finditer(rf"(?<![\w.]){_NS}{func}\s*\(|(?<=\.){func}\s*\(", code):
        start = m.end()
        depth, i = 1, start
        while i < len(code) and depth:
            depth += {"(": 1, ")": -1}.get(code[i], 0)
            i += 1
        if depth == 0:
            out.append((code[m.start():i], code[start:i - 1].strip()))
    return out


def call_args(code: str, func: str) -> list[str]:
    """Arguments text of each `func(...)` call in `code`."""
    return [a for _, a in calls(code, func)]


def _strip_call(arg: str, funcs: tuple[str, ...]) -> tuple[str, str] | None:
    """If `arg` is exactly `f(inner)` for f in funcs, return (f, inner)."""
    for f in funcs:
        m = re.fullmatch(rf"{_NS}{f}\s*\((.*)\)", arg.strip(), flags=re.S)
        if m and _balanced(m.group(1)):
            return f, m.group(1).strip()
        m = re.fullmatch(rf"([\w.\[\]]+)\.{f}\s*\((.*)\)", arg.strip(), flags=re.S)
        if m and _balanced(m.group(1)) and _balanced(m.group(2)):
            inner = m.group(1) if not m.group(2) else f"{m.group(1)}, {m.group(2)}"
            return f, inner
    return None


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def log_rewrite(code: str | None) -> tuple[str, str] | None:
    """(`torch.log(F.softmax(z, 1))`, `F.log_softmax(z, 1)`) when the line logs a softmax/sigmoid.

    `log(1 - sigmoid(z))` becomes `F.logsigmoid(-z)`: same value, computed without
    ever forming the probability that rounds to 0.
    """
    if not code:
        return None
    for text, arg in calls(code, "log"):
        m = re.fullmatch(r"1(?:\.0*)?\s*-\s*(.+)", arg, flags=re.S)
        if m:
            hit = _strip_call(m.group(1), ("sigmoid",))
            if hit:
                return text, f"F.logsigmoid(-({hit[1]}))"
            continue
        hit = _strip_call(arg, ("softmax",))
        if hit:
            return text, f"F.log_softmax({hit[1]})"
        hit = _strip_call(arg, ("sigmoid",))
        if hit:
            return text, f"F.logsigmoid({hit[1]})"
    m = re.search(r"(\S*softmax\((.*?)\))\.log\(\)", code)
    if m:
        return f"{m.group(1)}.log()", f"F.log_softmax({m.group(2)})"
    return None


def mentions(code: str | None, *words: str) -> bool:
    """Whether the line calls any of `words` (`sqrt` matches `torch.sqrt(` and `.sqrt(`)."""
    if not code:
        return False
    return any(re.search(rf"\b{re.escape(w)}\s*\(", code) for w in words)


def lost_epsilon(code: str | None) -> str | None:
    """The epsilon in `log(1e-10 + 1 - p)`, which float32 rounds away (1 + 1e-10 == 1)."""
    if not code or "log" not in code:
        return None
    m = re.search(r"\b(1e-(?:[89]|[1-9]\d))\b", code)
    if m and re.search(r"(?<![\w.])1(?:\.0*)?\s*-", code):
        return m.group(1)
    return None


def is_masked_where(code: str | None) -> bool:
    """`torch.where(cond, sqrt(x), 0)`: the unselected branch still gets differentiated."""
    return bool(code) and bool(re.search(r"\bwhere\s*\(", code or ""))
