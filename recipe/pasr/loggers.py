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

"""Module loggers at the level verl's own modules use: ``$VERL_LOGGING_LEVEL``, default ``WARN``.

verl sets each module logger to ``os.getenv("VERL_LOGGING_LEVEL", "WARN")``; the recipe's loggers
read the same variable, so one setting turns a whole job's logging up or down (``VERL_LOGGING_LEVEL=INFO``
also shows, e.g., the judge client's note that no API key is set). The level is read when a module
is imported, as verl does, in every process (driver and Ray workers inherit the environment).
"""

from __future__ import annotations

import logging
import os

LEVEL_VARIABLE = "VERL_LOGGING_LEVEL"
DEFAULT_LEVEL = "WARN"  # what most verl modules default to
_STANDARD_LEVELS = ("CRITICAL", "FATAL", "ERROR", "WARN", "WARNING", "INFO", "DEBUG", "NOTSET")


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` set to ``$VERL_LOGGING_LEVEL``; a level logging does not know is an error."""
    logger = logging.getLogger(name)
    level = os.getenv(LEVEL_VARIABLE, DEFAULT_LEVEL)
    try:
        logger.setLevel(level)
    except ValueError:
        raise ValueError(
            f"{LEVEL_VARIABLE}={level!r} is not a logging level; allowed values: {', '.join(_STANDARD_LEVELS)}"
        ) from None
    return logger
