"""Conventions every ``eks-gpu`` command shares (docs/cli.md): help with examples and the
exit code table, ``-o json`` where data is printed, colour only where it can be seen
(NO_COLOR, pipes, FORCE_COLOR), ``--quiet`` and ``--debug`` on either side of the command,
tables fitted to the terminal, a quiet exit for a closed pipe, shell completion, and a
pointer for a mistyped command.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from conftest import CliResult
from eks_gpu.cli import table
from eks_gpu.cli.main import COMMANDS, INSTEAD, cli
from eks_gpu.errors import EXIT_BROKEN_PIPE, EXIT_CODES, EXIT_INTERNAL, EXIT_USAGE

RunCli = Callable[..., CliResult]
BIN = str(Path(sys.executable).parent / "eks-gpu")
ROOT = Path(__file__).resolve().parent.parent
HEALTHY_DUMP = str(ROOT / "tests" / "data" / "doctor" / "healthy.yaml")
ESC = "\x1b"
# Commands that print no data document: why each has no -o.
NO_DATA_OUTPUT = {
    "completion": "prints a shell script",
    "init": "writes a config file (-f - prints it, as YAML with comments)",
}
# Every command that runs without a cluster or AWS, with arguments that make it do its work.
OFFLINE_RUNS = [
    ["plan"],
    ["render", "--cluster-name", "demo"],
    ["validate"],
    ["simulate"],
    ["instances", "-o", "wide"],
    ["recommend", "--workload", "inference", "--model-params", "7B"],
    ["catalog", "show"],
    ["status", "--from", HEALTHY_DUMP],
    ["doctor", "--from", HEALTHY_DUMP],
    ["init", "-f", "-"],
    ["completion", "bash"],
]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty working directory and cache, no config from the environment, no colour
    settings or terminal width inherited from whoever runs the tests."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("EKS_GPU_CONFIG", "NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)


def schema_errors(kind: str, document: object) -> list[str]:
    """Where ``document`` breaks docs/schemas/<kind>.v1.json (self-contained schemas)."""
    import json

    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "docs" / "schemas" / f"{kind}.v1.json").read_text())
    return [error.message for error in Draft202012Validator(schema).iter_errors(document)]


def every_command() -> list[tuple[str, click.Command]]:
    """(path, command) for each command in COMMANDS, and each subcommand of a group."""
    ctx = click.Context(cli)
    out: list[tuple[str, click.Command]] = []
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        out.append((name, command))
        if isinstance(command, click.Group):
            out += [(f"{name} {sub}", cmd) for sub, cmd in command.commands.items()]
    return out


def run_bin(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``eks-gpu ARGS`` as a separate process, stdout and stderr through pipes."""
    return subprocess.run(
        [BIN, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def run_on_tty(*args: str, env: dict[str, str]) -> str:
    """``eks-gpu ARGS`` with stdout on a pseudo-terminal, as a user sees it; returns stdout."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [BIN, *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "120", **env},
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=120) in (0, 1)
    return b"".join(chunks).decode()


# --- help --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [path for path, _ in every_command()])
def test_every_help_has_examples_exit_codes_and_shared_flags(run_cli: RunCli, path: str) -> None:
    result = run_cli(*path.split(), "--help")
    assert result.code == 0, result.err
    assert "Examples:" in result.out, f"{path} --help has no Examples: section"
    assert "Exit codes:" in result.out
    for code, meaning in EXIT_CODES:
        assert re.search(rf"^\s+{code}\s+{re.escape(meaning[:30])}", result.out, re.M), code
    assert "--quiet" in result.out and "--debug" in result.out
    command = dict(every_command())[path]
    if any("--output" in getattr(p, "opts", ()) for p in command.params):
        assert "-o, --output" in result.out


@pytest.mark.parametrize("path", [path for path, cmd in every_command()])
def test_every_data_command_takes_o_json(path: str) -> None:
    """Every command that prints data has -o with json among its choices (groups print
    nothing themselves; the exceptions say why)."""
    command = dict(every_command())[path]
    if isinstance(command, click.Group) or path in NO_DATA_OUTPUT:
        return
    (output,) = [p for p in command.params if "--output" in getattr(p, "opts", ())]
    assert "-o" in output.opts
    choices = getattr(output.type, "choices", None)
    if path != "dump":  # dump's -o is the file to write; --format picks json
        assert choices is not None and "json" in choices, path
    else:
        (fmt,) = [p for p in command.params if p.name == "fmt"]
        assert "json" in getattr(fmt.type, "choices", ())


def test_top_level_help_names_only_commands_that_exist(run_cli: RunCli) -> None:
    """It used to promise "check, apply and diagnose", commands that did not exist."""
    result = run_cli("--help")
    assert result.code == 0
    intro = result.out.split("Options:")[0]
    named = set(re.findall(r"`([a-z]+)`", intro)) | set(re.findall(r"eks-gpu ([a-z]+)", intro))
    assert named, "the top-level help names no command"
    assert named <= set(COMMANDS), named - set(COMMANDS)
    assert "check, apply and diagnose" not in intro
    listed = re.findall(r"^  ([a-z]+)  ", result.out.split("Commands:")[1], re.M)
    assert listed == sorted(COMMANDS)


def test_exit_code_doc_matches_the_table() -> None:
    doc = (ROOT / "docs" / "exit-codes.md").read_text()
    for code, meaning in EXIT_CODES:
        assert f"| {code} | {meaning.replace('|', chr(92) + '|')} |" in doc, code


# --- unknown commands, --debug, --quiet -------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "suggested"), [("plann", "plan"), ("valdate", "validate"), ("check", "validate")]
)
def test_unknown_command_suggests_the_closest_and_help(
    run_cli: RunCli, typed: str, suggested: str
) -> None:
    result = run_cli(typed)
    assert result.code == EXIT_USAGE
    assert f"No such command '{typed}'. Did you mean '{suggested}'?" in result.err
    assert "eks-gpu --help" in result.err
    assert "Traceback" not in result.err


def test_unknown_command_with_nothing_close_still_points_to_help(run_cli: RunCli) -> None:
    result = run_cli("zzzzzz")
    assert result.code == EXIT_USAGE
    assert "Did you mean" not in result.err
    assert "See 'eks-gpu --help' for the commands." in result.err


def test_instead_words_are_not_commands_and_point_at_commands() -> None:
    assert not set(INSTEAD) & set(COMMANDS)
    assert set(INSTEAD.values()) <= set(COMMANDS)


@pytest.fixture
def broken_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    """``instances`` fails with a bug (an unexpected exception)."""
    import eks_gpu.commands.instances as module

    def bug(**_: object) -> None:
        raise RuntimeError("planted bug")

    monkeypatch.setattr(module, "instances", bug)


@pytest.mark.usefixtures("broken_instances")
def test_unexpected_error_without_debug_is_two_lines_and_exit_70(run_cli: RunCli) -> None:
    result = run_cli("instances")
    assert result.code == EXIT_INTERNAL
    assert result.err.splitlines() == [
        "internal error: RuntimeError: planted bug",
        "hint: rerun with --debug and report the traceback",
    ]


@pytest.mark.usefixtures("broken_instances")
@pytest.mark.parametrize("args", [["--debug", "instances"], ["instances", "--debug"]])
def test_debug_before_or_after_the_command_raises_the_traceback(
    run_cli: RunCli, args: list[str]
) -> None:
    """``--debug`` after the subcommand used to be "No such option", though the hint says
    "rerun with --debug"."""
    with pytest.raises(RuntimeError, match="planted bug"):
        run_cli(*args)


@pytest.mark.parametrize("args", [["catalog", "show", "--debug"], ["catalog", "--debug", "show"]])
def test_debug_is_accepted_by_group_subcommands(run_cli: RunCli, args: list[str]) -> None:
    assert run_cli(*args).code == 0


def test_debug_does_not_turn_expected_errors_into_tracebacks(run_cli: RunCli) -> None:
    result = run_cli("plan", "-c", "missing.yaml", "--debug")
    assert result.code == EXIT_USAGE
    assert "Traceback" not in result.err and result.err.startswith("error:")


def test_stderr_says_what_the_output_is_without_quiet(run_cli: RunCli) -> None:
    result = run_cli("instances")
    assert "instance types; on-demand prices" in result.err


@pytest.mark.parametrize("args", [["-q", "instances"], ["instances", "--quiet"]])
def test_quiet_keeps_the_data_and_drops_the_info_lines(run_cli: RunCli, args: list[str]) -> None:
    result = run_cli(*args)
    assert result.code == 0
    assert result.out.startswith("TYPE ")
    assert result.err == ""


def test_quiet_keeps_errors(run_cli: RunCli) -> None:
    result = run_cli("plan", "-c", "missing.yaml", "--quiet")
    assert result.code == EXIT_USAGE
    assert "missing.yaml" in result.err


def test_quiet_keeps_the_messages_of_a_failed_result(capsys: pytest.CaptureFixture[str]) -> None:
    """A failed result's messages say why it failed (doctor's "not checked" lines): kept."""
    from dataclasses import dataclass

    from eks_gpu.cli.output import QUIET_KEY, emit

    @dataclass
    class Result:
        exit_code: int
        messages: tuple[str, ...] = ("not checked: some-rule: no input",)

        def to_json(self) -> dict[str, object]:
            return {}

    with click.Context(cli) as ctx:
        ctx.meta[QUIET_KEY] = True
        emit(Result(1), "json")  # type: ignore[type-var]
        assert "not checked" in capsys.readouterr().err
        emit(Result(0), "json")  # type: ignore[type-var]
        assert capsys.readouterr().err == ""


# --- colour --------------------------------------------------------------------------------


@pytest.mark.parametrize("args", OFFLINE_RUNS, ids=" ".join)
def test_no_escape_codes_under_no_color_through_a_pipe(args: list[str]) -> None:
    result = run_bin(*args, env={"NO_COLOR": "1"})
    assert result.returncode in (0, 1), result.stderr
    assert result.stdout, args
    assert ESC not in result.stdout and ESC not in result.stderr


CLUSTER_RUNS = [
    ["diff", "--cluster-name", "demo"],
    ["apply", "--yes", "--cluster-name", "demo"],
    ["delete", "--yes", "--cluster-name", "demo"],
    ["dump", "--no-logs"],
    ["verify", "--cluster-name", "demo"],
    ["status"],
    ["doctor"],
]


@pytest.mark.parametrize("args", CLUSTER_RUNS, ids=" ".join)
def test_cluster_commands_fail_plainly_under_no_color(args: list[str], tmp_path: Path) -> None:
    """The commands that need a cluster, against one that refuses connections: exit 3 and
    plain error lines (no escape codes, no traceback)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
    )
    result = run_bin(*args, "--kubeconfig", str(kubeconfig), env={"NO_COLOR": "1"})
    assert result.returncode == 3, result.stderr
    assert "error: cannot reach https://127.0.0.1:9" in result.stderr
    assert ESC not in result.stdout and ESC not in result.stderr
    assert "Traceback" not in result.stderr


def test_no_escape_codes_through_a_pipe_without_no_color() -> None:
    """A pipe alone turns colour off, for the command that colours its severities."""
    result = run_bin("validate")
    assert "WARNING" in result.stdout
    assert ESC not in result.stdout and ESC not in result.stderr


def test_force_color_shows_the_colour_a_terminal_gets() -> None:
    result = run_bin("validate", env={"FORCE_COLOR": "1"})
    assert "\x1b[33mWARNING\x1b[0m" in result.stdout  # yellow


def test_a_terminal_gets_colour_and_no_color_takes_it_away() -> None:
    """On a real (pseudo-)terminal: coloured severities, none with NO_COLOR=1 (before, the
    severities stayed coloured under NO_COLOR)."""
    assert "\x1b[33mWARNING" in run_on_tty("validate", env={})
    plain = run_on_tty("validate", env={"NO_COLOR": "1"})
    assert "WARNING" in plain and ESC not in plain


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": "0"}, True, False),  # any non-empty value
        ({"NO_COLOR": ""}, True, True),  # empty is unset (no-color.org)
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, True, False),
    ],
)
def test_colour_rule(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], tty: bool, expected: bool
) -> None:
    from eks_gpu.cli.output import colour_enabled

    class Stream:
        def isatty(self) -> bool:
            return tty

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert colour_enabled(Stream()) is expected  # type: ignore[arg-type]


# --- tables fit the terminal ----------------------------------------------------------------


def test_validate_table_fits_a_120_column_terminal(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was 400+ characters wide. Fitted, long cells wrap (no character is lost: the same
    characters as -o wide, only on more lines); -o wide keeps one line per finding."""
    monkeypatch.setattr(table, "terminal_width", lambda: 120)
    fitted = run_cli("validate")
    wide = run_cli("validate", "-o", "wide")
    assert fitted.code == wide.code == 0
    assert max(len(line) for line in fitted.out.splitlines()) <= 120
    assert max(len(line) for line in wide.out.splitlines()) > 200
    assert "drop p3 from this pool" in wide.out
    assert len(fitted.out.splitlines()) > len(wide.out.splitlines())
    assert sorted(fitted.out.replace(" ", "").replace("\n", "")) == sorted(
        wide.out.replace(" ", "").replace("\n", "")
    )


def test_piped_tables_keep_every_cell() -> None:
    """Even with COLUMNS in the environment (GNU readline exports it to children)."""
    result = run_bin("validate", env={"COLUMNS": "80"})
    assert max(len(line) for line in result.stdout.splitlines()) > 200
    assert "drop p3 from this pool" in result.stdout


@pytest.mark.parametrize("args", [["instances"], ["status", "--from", HEALTHY_DUMP]])
def test_other_tables_fit_too(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    whole = max(len(line) for line in run_cli(*args).out.splitlines())
    monkeypatch.setattr(table, "terminal_width", lambda: whole - 20)
    result = run_cli(*args)
    assert result.code == 0, result.err
    assert max(len(line) for line in result.out.splitlines()) <= whole - 20


def test_fit_widths_shrinks_the_widest_first_and_stops_at_the_floor() -> None:
    from eks_gpu.cli.table import fit_widths, format_table

    assert fit_widths([4, 50, 20], ["A", "B", "C"], 40) == [4, 16, 16]
    assert fit_widths([10, 10], ["LONG HEADER", "B"], 5) == [10, 8]  # floors: header, 8
    text = format_table(["NAME", "NOTE"], [["x", "a" * 30]], wide=False)
    assert text.splitlines()[1].endswith("a" * 30)  # not a terminal: whole


def test_fitted_cells_wrap_at_spaces_and_hyphens(monkeypatch: pytest.MonkeyPatch) -> None:
    from eks_gpu.cli.table import format_table

    monkeypatch.setattr(table, "terminal_width", lambda: 30)
    text = format_table(["RULE", "MESSAGE"], [["raid0-without-nvme", "one two three four five"]])
    assert text.splitlines() == [
        "RULE            MESSAGE",
        "raid0-without-  one two three",
        "nvme            four five",
    ]


# --- counts, plot preflight, closed pipe, completion ---------------------------------------


def test_counts_are_pluralised() -> None:
    from eks_gpu.cli.output import plural

    assert [plural(n, "error") for n in (0, 1, 2)] == ["0 errors", "1 error", "2 errors"]


def test_validate_summary_says_1_error_not_1_errors() -> None:
    from eks_gpu.cli.validate_cmd import table
    from eks_gpu.commands.validate import ValidationResult
    from eks_gpu.validate.findings import Finding

    finding = Finding("some-rule", "error", "Pod/x", ".spec", "broken", "fix it")
    result = ValidationResult(findings=(finding,), skipped=())
    assert table(result).splitlines()[-1] == "1 error, 0 warnings, 0 info"


def test_plot_without_matplotlib_fails_before_printing(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """It printed the whole table, then failed."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    result = run_cli("instances", "--plot", str(tmp_path / "p.png"))
    assert result.code == EXIT_USAGE
    assert result.out == ""
    assert "pip install 'eks-gpu[plot]'" in result.err
    assert not (tmp_path / "p.png").exists()


def test_a_closed_stdout_exits_141_without_a_word() -> None:
    """``eks-gpu plan | head -1`` exited 1 (click's own EPIPE handling); now as other CLIs:
    128 + SIGPIPE and nothing on stderr. The reader is gone before the first write."""
    process = subprocess.Popen([BIN, "plan"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert err == b""


def test_head_1_through_a_shell_pipe() -> None:
    script = f"set -o pipefail; '{BIN}' instances -o wide | head -1"
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stdout.startswith("TYPE ")
    assert result.returncode in (0, EXIT_BROKEN_PIPE)  # 0 when all fit the pipe's buffer
    assert "Traceback" not in result.stderr and "error" not in result.stderr


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_each_shell(run_cli: RunCli, shell: str) -> None:
    result = run_cli("completion", shell)
    assert result.code == 0, result.err
    assert "_EKS_GPU_COMPLETE" in result.out
    assert "eks-gpu" in result.out


def test_completion_script_completes_commands_and_options() -> None:
    """What the bash script runs on <TAB>: eks-gpu answers with our commands and flags."""
    env = {"_EKS_GPU_COMPLETE": "bash_complete", "COMP_WORDS": "eks-gpu pl", "COMP_CWORD": "1"}
    assert run_bin(env=env).stdout.split() == ["plain,plan"]
    env = {**env, "COMP_WORDS": "eks-gpu validate --qu", "COMP_CWORD": "2"}
    assert "plain,--quiet" in run_bin(env=env).stdout.split()


def test_completion_rejects_other_shells(run_cli: RunCli) -> None:
    assert run_cli("completion", "tcsh").code == EXIT_USAGE


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_diff_prints_text_or_json(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """diff printed only its text: -o json gives each object's state and diff."""
    import json

    import eks_gpu.commands.diff as module
    from eks_gpu.manifests.live_diff import ObjectDiff

    changed = ObjectDiff("NodePool/gpu", "change", "--- live\n+++ rendered\n-a\n+b\n")
    same = ObjectDiff("EC2NodeClass/gpu", "same", "")
    result = module.DiffResult("prod", (changed, same))
    monkeypatch.setattr(module, "diff", lambda *_a, **_k: result)
    printed = run_cli("diff", "--cluster-name", "demo", "-o", fmt)
    assert printed.code == 1
    if fmt == "text":
        assert printed.out == changed.text
    else:
        document = json.loads(printed.out)
        assert schema_errors("Diff", document) == []
        assert document["kind"] == "Diff"
        assert [o["state"] for o in document["objects"]] == ["change", "same"]
