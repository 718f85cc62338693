"""Generated docs are current, and the README's commands are the ones CI runs."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from eks_gpu.cli.main import COMMANDS, cli
from eks_gpu.errors import ConfigError
from eks_gpu.loaders.config_file import load_config
from eks_gpu.render.bundle import render_all

ROOT = Path(__file__).resolve().parents[1]


def test_config_reference_is_current() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_config_docs
    finally:
        sys.path.pop(0)
    current = (ROOT / "docs" / "config.md").read_text()
    assert gen_config_docs.render() == current, "run: python scripts/gen_config_docs.py"


def test_ci_runs_the_readme_install_and_test_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for command in ("pip install -e '.[dev]'", "python -m pytest"):
        assert command in readme, command
        assert command in ci, command


# --- the command reference, the docs' config snippets and their eks-gpu commands -----------

DOCS = ROOT / "docs"
CONFIG_MARKER = "# eks-gpu.yaml"  # first line of a ```yaml block that is a whole eks-gpu config
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
COMMAND_END = {"|", "||", "&&", ";", ">", ">>", "2>", "2>&1", "<"}


def _gen_cli_docs() -> Any:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_cli_docs
    finally:
        sys.path.pop(0)
    return gen_cli_docs


def _doc_files() -> list[Path]:
    """The hand-written Markdown: the README and docs/, without the generated reference."""
    files = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    return [f for f in files if "reference" not in f.relative_to(ROOT).parts]


def _blocks(language: str) -> list[tuple[str, str]]:
    """(where, body) of every fenced block of ``language`` in the hand-written docs."""
    found = []
    for file in _doc_files():
        text = file.read_text()
        for match in FENCE.finditer(text):
            if match.group(1) == language:
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{file.relative_to(ROOT)}:{line}", match.group(2)))
    return found


def _config_blocks() -> list[tuple[str, str]]:
    return [(w, b) for w, b in _blocks("yaml") if b.startswith(CONFIG_MARKER)]


def _command_lines() -> list[tuple[str, list[str]]]:
    """Every `eks-gpu ...` command in bash/console blocks, as argv, up to a pipe or redirect."""
    commands = []
    for where, body in _blocks("bash") + _blocks("console"):
        for line in body.splitlines():
            line = line.strip().removeprefix("$ ")
            if not line.startswith("eks-gpu "):
                continue
            words = shlex.split(line, comments=True)
            end = next((i for i, w in enumerate(words) if w in COMMAND_END), len(words))
            commands.append((f"{where}: {line}", words[1:end]))
    return commands


def _parse(args: list[str]) -> None:
    """Parse ``args`` as eks-gpu would, down to the leaf command, without running anything."""
    command: click.Command = cli
    try:
        ctx = command.make_context("eks-gpu", list(args))
    except click.exceptions.Exit:  # --version: parsed, answered, nothing left to parse
        return
    while isinstance(command, click.Group):
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]  # click >= 8.2 keeps it there
        if not rest:
            break
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None, args
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)


def test_cli_reference_is_current() -> None:
    generated = _gen_cli_docs().render()
    on_disk = {p.name: p.read_text() for p in (DOCS / "reference").glob("*.md")}
    assert set(on_disk) == set(generated), "run: python scripts/gen_cli_docs.py"
    stale = [name for name, text in generated.items() if on_disk[name] != text]
    assert not stale, f"stale {stale}; run: python scripts/gen_cli_docs.py"


def test_every_command_has_a_reference_page_naming_each_option() -> None:
    pages = _gen_cli_docs().render()
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            for opt in getattr(param, "opts", []):
                if opt.startswith("-") and opt not in ("-h", "--help"):
                    assert f"`{opt}`" in pages[f"{name}.md"], (name, opt)


def test_docs_have_config_snippets_and_commands() -> None:
    """The extraction below finds what it should, so the tests after it cannot pass empty."""
    assert len(_config_blocks()) >= 5
    assert len(_command_lines()) >= 30


@pytest.mark.parametrize("where,body", _config_blocks(), ids=lambda v: str(v)[:60])
def test_config_snippets_load_and_render(where: str, body: str, tmp_path: Path) -> None:
    config_file = tmp_path / "eks-gpu.yaml"
    config_file.write_text(body)
    try:
        config = load_config(config_file)
    except ConfigError as error:
        pytest.fail(f"{where}: {error.lines()}")
    objects = render_all(config, config.cluster_name or "docs")
    assert any(item.obj["kind"] == "NodePool" for item in objects), where


def test_a_broken_config_snippet_would_be_caught(tmp_path: Path) -> None:
    config_file = tmp_path / "eks-gpu.yaml"
    config_file.write_text(f"{CONFIG_MARKER}\nnodePools:\n- name: gpu\n  capacityTypes: [Spot]\n")
    with pytest.raises(ConfigError):
        load_config(config_file)


@pytest.mark.parametrize("where,args", _command_lines(), ids=lambda v: str(v)[:80])
def test_doc_commands_parse(where: str, args: list[str]) -> None:
    try:
        _parse(args)
    except click.ClickException as error:
        pytest.fail(f"{where}: {error.format_message()}")


def _offline_commands() -> list[tuple[str, list[str]]]:
    """Doc commands that read only files of this repository: run for real, not just parsed."""

    def reads_repo_file(args: list[str]) -> bool:
        files = [a for a in args if a.startswith(("docs/", "tests/data/"))]
        return bool(files) and all((ROOT / f).exists() for f in files)

    return [(w, a) for w, a in _command_lines() if reads_repo_file(a)]


def test_docs_have_offline_commands() -> None:
    assert len(_offline_commands()) >= 5


@pytest.mark.parametrize("where,args", _offline_commands(), ids=lambda v: str(v)[:80])
def test_offline_doc_commands_run(
    where: str, args: list[str], run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from the repository root as the docs say; exit 0 or 1 (a finding), nothing else."""
    monkeypatch.chdir(ROOT)
    result = run_cli(*args)
    assert result.code in (0, 1), f"{where}: exit {result.code}\n{result.err}"
    assert "internal error" not in result.err and "Traceback" not in result.err, where
    assert result.out.strip(), where


def test_a_wrong_flag_in_the_docs_would_be_caught() -> None:
    with pytest.raises(click.ClickException):
        _parse(["plan", "--no-such-flag"])
    with pytest.raises(click.ClickException):
        _parse(["catalog", "refresh", "--output", "xml"])


def test_no_user_facing_text_points_outside_the_repository() -> None:
    for file in _doc_files():
        assert "../shared" not in file.read_text(), file


# Written by other helpers of issue 14 in parallel; linked from here before they land.
# Remove each entry once its file is merged, so a broken link to it fails again.
PENDING: set[str] = set()
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's (and MkDocs' toc) anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(file: Path) -> set[str]:
    text = FENCE.sub("", file.read_text())
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def test_slug_matches_github() -> None:
    assert _slug("`eks-gpu catalog`") == "eks-gpu-catalog"
    assert _slug("What was tested without a real cluster or GPU") == (
        "what-was-tested-without-a-real-cluster-or-gpu"
    )


def _broken_links(files: list[Path]) -> list[str]:
    """Relative links (and their #anchors) in ``files`` that lead nowhere."""
    broken = []
    for file in files:
        for target in LINK.findall(FENCE.sub("", file.read_text())):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            resolved = (file.parent / path).resolve() if path else file
            inside = resolved.is_relative_to(ROOT)
            if inside and resolved.relative_to(ROOT).as_posix() in PENDING:
                continue
            if not resolved.exists():
                broken.append(f"{file.name}: {target}")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{file.name}: {target} (no such heading)")
    return broken


def test_relative_links_resolve() -> None:
    files = [*_doc_files(), *sorted((DOCS / "reference").glob("*.md"))]
    assert not _broken_links(files)


def test_a_broken_link_or_anchor_would_be_caught(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n[a](missing.md) [b](page.md#title) [c](#nope)\n")
    assert _broken_links([page]) == ["page.md: missing.md", "page.md: #nope (no such heading)"]


def test_generated_tables_keep_their_columns() -> None:
    """A `|` in a metavar or help text must not split a reference table's cell."""
    for name, text in _gen_cli_docs().render().items():
        for line in text.splitlines():
            if line.startswith("|") and not line.startswith("|---"):
                cells = re.split(r"(?<!\\)\|", line)[1:-1]
                assert len(cells) in (2, 4), (name, line)
