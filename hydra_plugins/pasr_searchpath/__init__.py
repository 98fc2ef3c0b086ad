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
