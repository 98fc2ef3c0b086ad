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

"""Checks the composed config in the driver process, before verl starts Ray.

Without this, a bad ``pasr`` value or a verl setting that bypasses the PASR reward composes fine and is
only caught inside Ray workers, minutes later. ``+recipe=pasr`` registers :class:`PasrConfigCheck` as a
Hydra callback (``hydra.callbacks``); Hydra calls ``on_job_start`` with the composed config right
before the task function (verl's ``main``) runs.

Hydra 1.3 turns an ``Exception`` raised in a callback into a warning and runs the job anyway, so the
check ends the process with :class:`SystemExit` (not an ``Exception``): exit status 1, the message on
stderr.
"""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from recipe.pasr.verl.config import check_job_config, check_launch_settings


class PasrConfigCheck(Callback):
    """Hydra callback: every check of :mod:`recipe.pasr.verl.config` on the composed config."""

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            check_job_config(config)
            check_launch_settings(config)
        except ValueError as error:
            raise SystemExit(f"PASR configuration error: {error}") from None
