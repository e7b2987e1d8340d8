"""Hatch build hook: the wheel carries each message catalogue compiled (``.mo``).

The ``.po`` files are the sources (in the repository, under voicecoach/locale/); Babel
compiles each into a ``.mo`` beside it in the wheel, so an installed voicecoach loads
catalogues with the standard library's gettext alone. Fuzzy entries are left out, as
``pybabel compile`` does. An editable install gets no ``.mo``: the package then
compiles a ``.po`` in memory when its ``.mo`` is missing or stale
(voicecoach/routine/catalogues.py), so a translator's edit is heard at once.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogueHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        self._staging = Path(tempfile.mkdtemp(prefix="voicecoach-mo-"))
        locale = Path(self.root) / "voicecoach" / "locale"
        for po in sorted(locale.glob("*/LC_MESSAGES/voicecoach.po")):
            relative = po.with_suffix(".mo").relative_to(self.root)
            mo = self._staging / relative
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as out:
                write_mo(out, catalog)
            build_data["force_include"][str(mo)] = relative.as_posix()

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        staging = getattr(self, "_staging", None)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
