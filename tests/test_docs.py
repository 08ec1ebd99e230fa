"""The documentation: the mkdocs site builds with --strict (no link or anchor that points nowhere) and
has a page per nav entry; the README's relative links point to files that exist.

Without mkdocs (the `docs` extra) the build test skips with the reason, except under CI=true, where
it fails (CI must never pass by skipping).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# [text](target) and ![alt](target), with an optional "title"; not inside code spans or blocks.
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _require_mkdocs() -> None:
    missing = [name for name in ("mkdocs", "material") if importlib.util.find_spec(name) is None]
    if missing:
        message = f"{' and '.join(missing)} not installed: pip install -e '.[docs]' (mkdocs-material)"
        if _ci():
            pytest.fail(message)
        pytest.skip(message)


def _nav_files(nav) -> list[str]:
    """The .md files a mkdocs nav names, in order (nested sections included)."""
    if isinstance(nav, str):
        return [nav] if nav.endswith(".md") else []
    if isinstance(nav, list):
        return [f for item in nav for f in _nav_files(item)]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in _nav_files(value)]
    return []


def _built_page(site: Path, doc: str) -> Path:
    """Where mkdocs writes a page with use_directory_urls (its default)."""
    stem = doc[: -len(".md")]
    if stem == "index" or stem.endswith("/index"):
        return site / f"{stem}.html"
    return site / stem / "index.html"


def test_mkdocs_build_strict(tmp_path):
    _require_mkdocs()
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["theme"]["name"] == "material"
    docs = ROOT / config.get("docs_dir", "docs")
    nav = _nav_files(config["nav"])
    assert nav, "mkdocs.yml has no nav"
    missing = [f for f in nav if not (docs / f).is_file()]
    assert not missing, f"nav entries without a file in {docs}: {missing}"

    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    # Not --quiet: it hides the warnings, and then --strict has nothing to fail on.
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"

    absent = [f for f in nav if not _built_page(site, f).is_file()]
    assert not absent, f"nav entries the site has no page for: {absent}"
    # The pictures the pages show are copied with them.
    for picture in ("demo.png", "page.jpg"):
        assert (site / picture).is_file(), picture


def _relative_links(markdown: str) -> list[tuple[int, str]]:
    links, fenced = [], False
    for number, line in enumerate(markdown.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        line = re.sub(r"`[^`]*`", "", line)  # code spans are not links
        for target in _LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
                continue  # http:, https:, mailto:, or an anchor in the README itself
            links.append((number, target))
    return links


def test_readme_relative_links_exist():
    readme = (ROOT / "README.md").read_text()
    links = _relative_links(readme)
    assert links, "the README links to no file (docs/*.md expected)"
    broken = [f"README.md:{n}: {target}" for n, target in links
              if not (ROOT / target.split("#", 1)[0]).exists()]
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)
    # The README's links into the documentation are to pages the site builds.
    assert any(t.startswith("docs/") and t.split("#", 1)[0].endswith(".md") for _, t in links)


def test_link_finder_sees_links_and_skips_code():
    text = ("see [a](docs/a.md) and ![pic](docs/p.png \"title\"), [web](https://x.org), [here](#top)\n"
            "`[not](code.md)`\n```\n[nor](block.md)\n```\n[b](docs/b.md#part)\n")
    assert [t for _, t in _relative_links(text)] == ["docs/a.md", "docs/p.png", "docs/b.md#part"]
