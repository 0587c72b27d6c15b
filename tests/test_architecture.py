"""The import rules of ../shared/design/architecture.md, read off every module's source.

Rules: nothing imports in a circle; `schemas` imports nothing of ours; `sources` and
`annotation` import only `schemas` (and themselves); only `curation/cli/` imports `sources` or
`annotation`; a stage imports `pipeline`, `text` and `llm`, never another stage's internals (the
chain, which composes stages, may use their public modules).
Every import counts, including those inside functions: a lazy import hides a cycle, it does not
break it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("schemas", "sources", "curation", "annotation")


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover(root: Path = REPO) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(path, root)] = path
    return found


def imports_of(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Project modules `name` imports (resolving `from pkg import submodule` to the submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def import_graph(root: Path = REPO) -> dict[str, set[str]]:
    modules = discover(root)
    return {name: imports_of(path, name, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def _top(module: str) -> str:
    return module.split(".")[0]


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["curation", "stages"] else None


def rule_violations(graph: dict[str, set[str]]) -> list[str]:
    bad: list[str] = []
    for src, targets in sorted(graph.items()):
        for dst in sorted(targets):
            top_src, top_dst = _top(src), _top(dst)
            if top_src == "schemas" and top_dst != "schemas":
                bad.append(f"{src} -> {dst}: schemas imports nothing of ours")
            if top_src in ("sources", "annotation") and top_dst not in (top_src, "schemas"):
                bad.append(f"{src} -> {dst}: {top_src} imports only schemas")
            if top_dst in ("sources", "annotation") and top_src == "curation" and not src.startswith("curation.cli"):
                bad.append(f"{src} -> {dst}: only curation.cli imports {top_dst}")
            stage_src, stage_dst = _stage_of(src), _stage_of(dst)
            if stage_src and stage_dst and stage_src != stage_dst:
                if stage_src != "chain":
                    bad.append(f"{src} -> {dst}: a stage never imports another stage")
                elif len(dst.split(".")) > 3:
                    bad.append(f"{src} -> {dst}: the chain uses a stage's public module, not its internals")
    return bad


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_import_rules() -> None:
    assert rule_violations(import_graph()) == []


def test_graph_sees_the_project() -> None:
    graph = import_graph()
    assert {"schemas", "sources.zhihu", "curation.stages.chain", "curation.pipeline.runner"} <= set(graph)
    assert "curation.pipeline.runner" in graph["curation.stages.chain"]
    assert "schemas" in graph["sources.zhihu"] or any(m.startswith("schemas") for m in graph["sources.zhihu"])


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        _write(tmp_path, f"{package}/__init__.py", "")
    _write(tmp_path, "curation/stages/__init__.py", "")
    _write(tmp_path, "curation/pipeline/__init__.py", "")
    _write(tmp_path, "curation/pipeline/rows.py", "import schemas\n")
    _write(tmp_path, "curation/stages/dedup/__init__.py", "from curation.stages.dedup.stage import run\n")
    _write(tmp_path, "curation/stages/dedup/stage.py", "from curation.pipeline.rows import x\nrun = 1\n")
    return tmp_path


def test_checker_accepts_a_clean_tree(toy: Path) -> None:
    graph = import_graph(toy)
    assert find_cycle(graph) is None
    assert rule_violations(graph) == []


def test_checker_fails_on_a_lazy_cycle(toy: Path) -> None:
    _write(toy, "curation/stages/chain.py", "from curation.stages.dedup import run\n")
    _write(toy, "curation/pipeline/rows.py", "def f():\n    from curation.stages.chain import g\n")
    cycle = find_cycle(import_graph(toy))
    assert cycle is not None and "curation.stages.chain" in cycle and "curation.pipeline.rows" in cycle


@pytest.mark.parametrize(
    ("rel", "text", "expected"),
    [
        ("schemas/x.py", "import curation\n", "schemas imports nothing"),
        ("sources/x.py", "from curation.pipeline import rows\n", "sources imports only schemas"),
        ("annotation/x.py", "import sources\n", "annotation imports only schemas"),
        ("curation/stages/pii.py", "import annotation\n", "only curation.cli imports annotation"),
        ("curation/stages/decontam.py", "from curation.stages.dedup.stage import run\n", "never imports another stage"),
        ("curation/stages/chain.py", "from curation.stages.dedup.stage import run\n", "not its internals"),
    ],
)
def test_checker_fails_on_each_rule(toy: Path, rel: str, text: str, expected: str) -> None:
    _write(toy, rel, text)
    violations = rule_violations(import_graph(toy))
    assert any(expected in v for v in violations), violations
