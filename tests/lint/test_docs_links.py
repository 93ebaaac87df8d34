"""Every relative link in README.md and docs/*.md resolves inside the repository.

A reader of the README or the docs has the repository and nothing beside it, so a link to a file that
does not exist, to a heading that does not exist, or to a path outside the repository (`../shared/…`,
an absolute path) is a broken page. Web links (https:, mailto:) are not followed.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def links(text: str) -> list[str]:
    text = CODE_SPAN.sub("", FENCE.sub("", text))
    return INLINE_LINK.findall(text) + REFERENCE_DEF.findall(text)


def anchors(markdown: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, -1/-2 for repeats."""
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", markdown).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        title = re.sub(r"`([^`]*)`", r"\1", m.group(1))
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)
        slug = "".join(c for c in title.lower() if c in " -_" or unicodedata.category(c)[0] in "LN").replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def problems(page: Path, repo: Path = REPO) -> list[str]:
    found = []
    for target in links(page.read_text(encoding="utf-8")):
        if SCHEME.match(target) and not target.lower().startswith("file:"):
            continue  # https:, mailto: … — not a path in this repository
        if target.lower().startswith("file:") or target.startswith("/"):
            found.append(f"{target}: links outside the repository")
            continue
        path_part, _, fragment = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        try:
            dest.relative_to(repo.resolve())
        except ValueError:
            found.append(f"{target}: leaves the repository")
            continue
        if not dest.exists():
            found.append(f"{target}: {dest.relative_to(repo.resolve())} does not exist")
            continue
        if fragment and dest.suffix == ".md" and fragment not in anchors(dest.read_text(encoding="utf-8")):
            found.append(f"{target}: no heading #{fragment} in {dest.name}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve_inside_the_repository(page):
    assert problems(page) == []


def test_the_pages_mention_no_path_outside_the_repository():
    """Not only links: a path to a folder beside the checkout (`../shared/…`) in the text is as
    useless to a reader as a broken link."""
    offenders = [
        f"{p.relative_to(REPO)}:{n}: {line.strip()}"
        for p in PAGES
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\.\./shared\b|(?<![\w.-])shared/(reference|seeds)\b", line)
    ]
    assert offenders == []


def test_the_checker_finds_each_kind_of_broken_link(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## Live plans\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "# Title\n\n"
        "[ok](docs/other.md) [ok anchor](docs/other.md#live-plans) [self](#title) [web](https://example.com)\n"
        "[missing](docs/nope.md) [bad anchor](docs/other.md#dead-plans) [outside](../shared/ARCHITECTURE.md)\n"
        "[abs](/etc/passwd) [file](file:///tmp/x)\n\n"
        "`[not a link](nowhere.md)`\n\n```\n[also not](nowhere.md)\n```\n\n"
        "[ref]: docs/gone.md\n",
        encoding="utf-8",
    )
    assert [p.split(":")[0] for p in problems(page, tmp_path)] == [
        "docs/nope.md",
        "docs/other.md#dead-plans",
        "../shared/ARCHITECTURE.md",
        "/etc/passwd",
        "file",
        "docs/gone.md",
    ]


def test_heading_ids_follow_githubs_rules():
    ids = anchors("# deploy.yaml\n## plan and apply\n## The model: `MLmodel`\n## Repeat\n## Repeat\n```\n# not\n```\n")
    assert ids == {"deployyaml", "plan-and-apply", "the-model-mlmodel", "repeat", "repeat-1"}
