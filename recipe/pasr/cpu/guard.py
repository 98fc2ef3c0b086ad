# Copyright 2026 The verl-recipe-pasr Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Guards for run-time patches of verl and vLLM: a patch applies only to the code it was written for.

A patch names the distribution and version it targets and a fragment of the target's source that the
patch relies on. If either changed (an upgrade), importing the patch fails with a message saying what
changed, instead of silently patching code that no longer behaves as assumed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

ORIGINAL = "_pasr_cpu_original"  # attribute of a patched function: the function it replaced


class PatchTargetChanged(RuntimeError):
    """The code a patch targets is not the code the patch was written for."""


def check_patch_target(
    patch: str, distribution: str, expected_version: str, target: Callable[..., Any], source_fragment: str
) -> None:
    """Raise :class:`PatchTargetChanged` unless ``target`` is ``distribution==expected_version`` code
    whose source contains ``source_fragment``."""
    where = f"{target.__module__}.{target.__qualname__}"
    try:
        found = version(distribution)
    except PackageNotFoundError:
        found = "not installed"
    if found != expected_version:
        raise PatchTargetChanged(
            f"patch '{patch}' targets {where} in {distribution}=={expected_version}, but {distribution} is "
            f"{found}; re-check the patch against that version (recipe/pasr/cpu) before using it"
        )
    try:
        source = inspect.getsource(target)
    except (OSError, TypeError) as error:
        raise PatchTargetChanged(f"patch '{patch}': cannot read the source of {where}: {error}") from error
    if source_fragment not in source:
        raise PatchTargetChanged(
            f"patch '{patch}': {where} ({distribution} {found}) no longer contains {source_fragment!r}; "
            "the code it works around changed, so the patch may now be wrong"
        )
