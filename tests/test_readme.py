"""README.md runs as written: every ```python block runs, every `kerasdil ...` command's flags parse,
the cheap commands run (rf with its shown output; the quick train and evaluate on the sample)."""

import contextlib
import io
import os
import re
import shlex

import pytest

from kerasdil.cli import COMMANDS, build_parser, main

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def _blocks(language):
    with open(README, encoding="utf-8") as f:
        text = f.read()
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def _commands():
    """Every ``kerasdil ...`` command of the README's bash blocks, as argv lists (comments, ``$ `` prompts,
    line continuations and ``&&`` chains handled)."""
    commands = []
    for block in _blocks("bash"):
        block = block.replace("\\\n", " ")
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("$ "):
                line = line[2:]
            for part in line.split("&&"):
                argv = shlex.split(part, comments=True)
                if argv and argv[0] == "kerasdil":
                    commands.append(argv[1:])
    return commands


PYTHON_BLOCKS = _blocks("python")
COMMANDS_IN_README = _commands()


def test_the_readme_has_snippets_and_commands_to_check():
    assert len(PYTHON_BLOCKS) >= 5 and len(COMMANDS_IN_README) >= 10
    assert {argv[0] for argv in COMMANDS_IN_README} >= {"train", "evaluate", "finetune", "export", "rf", "tune"}


def _is_slow(code):
    # Training (a few epochs on the sample) and building keras.applications backbones take longer than 20 s.
    return "train(" in code


@pytest.mark.parametrize(
    "code",
    [pytest.param(code, marks=[pytest.mark.slow] if _is_slow(code) else [], id=f"python-{i}")
     for i, code in enumerate(PYTHON_BLOCKS)],
)
def test_python_snippet_runs_as_written(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets that write (runs/x) write here
    import warnings

    from kerasdil.data import SampleDataWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleDataWarning)  # the snippets use the sample on purpose
        exec(compile(code, f"README.md python block in {tmp_path}", "exec"), {"__name__": "readme"})


@pytest.mark.parametrize("argv", COMMANDS_IN_README, ids=[" ".join(a)[:60] for a in COMMANDS_IN_README])
def test_command_flags_parse(argv):
    assert argv[0] in COMMANDS, f"README names an unknown command: kerasdil {' '.join(argv)}"
    args = build_parser(only=argv[0]).parse_args(argv)  # argparse exits 2 on an unknown or malformed flag
    assert args.command == argv[0]


def test_rf_commands_print_what_the_readme_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(README, encoding="utf-8") as f:
        text = f.read()
    block = next(b for b in _blocks("bash") if b.startswith("$ kerasdil rf"))
    shown = [line for line in block.splitlines()[1:] if not line.startswith("$") and line.strip() != "..."]
    shown = shown[:shown.index(next(line for line in shown if line.startswith("HDC")))]  # the first command's lines
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["rf", "1,2,5", "--kernel", "3"]) == 0
    printed = out.getvalue()
    for line in shown:
        assert " ".join(line.split()) in " ".join(printed.split()), f"README shows {line!r}; rf printed:\n{printed}"
    assert "HDC rule" in printed and "gridding-free" in printed and "kerasdil rf 1,2,5" in text


@pytest.mark.slow
def test_quick_train_and_evaluate_on_the_sample_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    quick = [argv for argv in COMMANDS_IN_README if "sample" in argv and argv[0] in ("train", "evaluate")]
    assert [argv[0] for argv in quick] == ["train", "evaluate"]
    train = list(quick[0])
    train[train.index("--epochs") + 1] = "1"  # the README's command, one epoch on part of the sample
    assert main([*train, "--limit", "512", "--quiet"]) == 0
    assert main(quick[1]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and os.path.exists(os.path.join("runs", "quick", "model.keras"))
