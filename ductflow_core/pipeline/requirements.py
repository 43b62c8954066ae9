"""The pipeline's ``requires:`` list: check every distribution it names is installed, all at once."""

from __future__ import annotations

from ductflow_core.errors import first_line
from ductflow_core.models import Stages


def check_requirements(pipeline: Stages) -> None:
    """Raise one :class:`PipelineError` listing every requirement that is missing or too old."""
    if not pipeline.settings.requires:
        return
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    problems: list[str] = []
    for index, text in enumerate(pipeline.settings.requires):
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise pipeline.error_at(("requires", index), f"not a requirement: {first_line(exc)}") from None
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{text} (not installed)")
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            problems.append(f"{text} (installed: {version})")
    if problems:
        hint = "; install with: ductflow install " + " ".join(p.split(" (")[0] for p in problems)
        raise pipeline.error_at(("requires",), f"missing {', '.join(problems)}{hint}")
