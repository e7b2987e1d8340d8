"""The built wheel carries everything: installed without the source tree, `voicecoach list`
finds the six bundled routines and `render` finds the cue sounds, inside the package.

The wheel is built with the venv's own hatchling (no build isolation, so no download) and
installed with --no-deps into a fresh folder; the dependencies come from the venv. Each
command runs from another folder with the source checkout taken off ``sys.path``, so it
can only work if the wheel itself has the routines and sounds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audiocheck import decode
from voicecoach.routine import resources

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ROUTINES = sorted(p.name for p in (ROOT / "scripts").glob("*.yaml"))
SOUNDS = sorted(p.name for p in (ROOT / "sounds").glob("*.wav"))

# Run the CLI as the console script does, but with the checkout (which an editable install
# puts on sys.path) removed first: only the installed copy can be imported.
RUN_CLI = (
    "import sys\n"
    "sys.path[:] = [p for p in sys.path if p.rstrip('/') != {root!r}]\n"
    "from voicecoach.cli import main\n"
    "sys.argv = ['voicecoach', *sys.argv[1:]]\n"
    "main()\n"
)


def run(
    args: list[str], site: Path, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env={**env, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the wheel, the folder it was installed into)."""
    folder = tmp_path_factory.mktemp("wheel")
    dist = folder / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("voicecoach-*.whl")
    site = folder / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    yield wheel, site


def test_the_wheel_holds_the_routines_and_sounds(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    assert len(ROUTINES) == 8 and len(SOUNDS) == 7
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"voicecoach/scripts/{n}" for n in ROUTINES} <= names
    assert {f"voicecoach/sounds/{n}" for n in SOUNDS} <= names
    assert "voicecoach/cli/__init__.py" in names and "voicecoach/py.typed" in names
    assert not any(n.startswith(("tests/", "scripts/", "sounds/")) for n in names)
    info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(info).decode()
    assert "voicecoach = voicecoach.cli:main" in entry_points
    # byte for byte the checkout's files
    for n in ROUTINES:
        assert (
            zipfile.ZipFile(wheel).read(f"voicecoach/scripts/{n}")
            == (ROOT / "scripts" / n).read_bytes()
        )


def test_the_installed_package_is_used_and_finds_its_data(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, site = installed
    code = (
        "import sys\n"
        f"sys.path[:] = [p for p in sys.path if p.rstrip('/') != {str(ROOT)!r}]\n"
        "import voicecoach\n"
        "from voicecoach.routine import resources\n"
        "from voicecoach.adapters.sounds import load_sounds\n"
        "print(voicecoach.__file__)\n"
        "print(resources.scripts_dir())\n"
        "print(resources.sounds_dir())\n"
        "print(' '.join(sorted(resources.bundled_routines())))\n"
        "print(' '.join(sorted(load_sounds())))\n"
    )
    proc = run([sys.executable, "-c", code], site, tmp_path, dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    module, scripts, sounds, routines, cues = proc.stdout.splitlines()
    assert module == str(site / "voicecoach" / "__init__.py")
    assert scripts == str(site / "voicecoach" / "scripts")
    assert sounds == str(site / "voicecoach" / "sounds")
    assert routines.split() == sorted(n.removesuffix(".yaml") for n in ROUTINES)
    assert cues.split() == sorted(n.removesuffix(".wav") for n in SOUNDS)


def test_installed_cli_lists_and_renders(installed: tuple[Path, Path], tmp_path: Path) -> None:
    _, site = installed
    env = {
        **os.environ,
        "VOICECOACH_CACHE_DIR": str(tmp_path / "cache"),  # real speech, from scratch
        "VOICECOACH_STATE_DIR": str(tmp_path / "state"),
        "VOICECOACH_DATA_DIR": str(tmp_path / "data"),
    }
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cli = [sys.executable, "-c", RUN_CLI.format(root=str(ROOT))]

    listed = run([*cli, "list"], site, elsewhere, env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == ""
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == sorted(resources.bundled_routines())
    for line in lines:
        # a real length for each: the installed routines and sounds were found and spoken
        assert re.fullmatch(r"[a-z-]+ +\d+:\d\d  \S.*", line), line
    assert [line for line in lines if line.endswith("  (default)")] == [
        next(line for line in lines if line.startswith("back-strength "))
    ]

    # The console script the wheel installed, by a bundled name, from another folder.
    script = site / "bin" / "voicecoach"
    assert script.is_file()
    rendered = run(
        [sys.executable, str(script), "render", "lower-back-relief", "-o", "relief.wav"],
        site, elsewhere, env,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    audio, rate = decode(elsewhere / "relief.wav")
    shown = run([*cli, "audition", "lower-back-relief", "--json"], site, elsewhere, env)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert rate == data["sample_rate"]
    assert len(audio) == round(data["duration"] * rate)
    assert {e["sound"] for e in data["events"] if e["kind"] == "sound"} >= {
        "hold", "release", "rest", "switch", "start", "tick", "finish",
    }  # fmt: skip


def test_the_wheel_carries_each_catalogue_compiled(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    """Every voicecoach/locale/<tag>/LC_MESSAGES/voicecoach.po is in the wheel with its .mo
    (hatch_build.py), and the installed copy loads each from the .mo: Babel, which
    compiles a checkout's .po in memory, is not imported."""
    wheel, site = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = sorted(
        p.relative_to(ROOT).as_posix()
        for p in ROOT.glob("voicecoach/locale/*/LC_MESSAGES/voicecoach.po")
    )
    assert set(sources) <= names
    assert {n for n in names if n.endswith(".mo")} == {s[:-3] + ".mo" for s in sources}
    code = (
        "import sys\n"
        f"sys.path[:] = [p for p in sys.path if p.rstrip('/') != {str(ROOT)!r}]\n"
        "from voicecoach.routine import catalogues, languages\n"
        "spoken = [l for l in languages.available() if l != languages.SOURCE]\n"
        "for language in spoken:\n"
        "    words = catalogues.load(language)\n"
        '    assert words.gettext("Let\'s begin.") != "Let\'s begin.", language\n'
        "print(' '.join(spoken), 'babel' in sys.modules)\n"
    )
    proc = run([sys.executable, "-c", code], site, tmp_path, dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    *spoken, babel = proc.stdout.split()
    assert spoken == sorted(s.split("/")[2].lower().replace("_", "-") for s in sources)
    assert babel == "False"
