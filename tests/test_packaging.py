"""pyproject.toml as the build backend reads it when `make demo` installs the package."""

from __future__ import annotations

import warnings
from pathlib import Path

from setuptools.config.pyprojecttoml import apply_configuration
from setuptools.dist import Distribution
from setuptools.warnings import SetuptoolsDeprecationWarning

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_reads_without_a_deprecation_warning() -> None:
    # Round 14 (newcomer): the first `make demo` printed setuptools' boxed warning four times,
    # "`project.license` as a TOML table is deprecated ... By 2027-Feb-18, you need to update
    # your project ... or your builds will no longer be supported".
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        distribution = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    deprecated = [w for w in caught if issubclass(w.category, SetuptoolsDeprecationWarning)]
    assert deprecated == [], str(deprecated[0].message)
    assert distribution.metadata.license_expression == "MIT"
