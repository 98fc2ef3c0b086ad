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

"""Hydra search-path plugin: makes ``+recipe=pasr`` resolvable from any directory after ``pip install``.

Hydra discovers plugins in the ``hydra_plugins`` namespace package of every installed
distribution; this one appends the recipe's packaged config directory, whose ``recipe/`` group
holds ``pasr.yaml`` and the per-model files.
"""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

PASR_CONFIG_PACKAGE = "pkg://recipe.pasr.conf"


class PasrSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider="verl-recipe-pasr", path=PASR_CONFIG_PACKAGE)
