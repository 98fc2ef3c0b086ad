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

"""Ray ``worker_process_setup_hook`` of ``+recipe=pasr``: the pasr_* trainer modes, registered only where
verl's trainer package is imported.

verl looks the trainer class up by name (``trainer.v1.trainer_mode``) in a registry of
``verl.trainer.ppo.v1``, in the TaskRunner's Ray process, so the PASR classes must be registered there
first. Ray runs the setup hook in every worker process it starts: TransferQueue's controller and storage
units, reward and agent-loop workers, vLLM servers, the idle workers it keeps ready. Importing
:mod:`recipe.pasr.verl.trainer` (verl's trainer package, TransferQueue's client) costs about 20 s of CPU
in each of them on a 2-core machine, for a registry only one of them reads. So the hook only asks to be
told when ``verl.trainer.ppo.v1`` is imported (wrapt's post-import hook): the process that imports it
registers the modes right then, before it can look one up; at once if it was imported already.
"""

from __future__ import annotations

from types import ModuleType

import wrapt

TRAINER_PACKAGE = "verl.trainer.ppo.v1"


def register_trainers_on_import() -> None:
    """Register the PASR trainer modes in this process as soon as verl's trainer package is imported."""
    wrapt.register_post_import_hook(_register_trainers, TRAINER_PACKAGE)


def _register_trainers(_trainer_package: ModuleType) -> None:
    from recipe.pasr.verl.trainer import register_trainers

    register_trainers()
