"""Imported first by the command line, before anything imports spaCy.

thinc (spaCy's model library) imports torch whenever torch is installed, to support models this pipeline never
loads: the spaCy pipeline runs on numpy, and the default encoder is ONNX. That import is 1.4 s of every run and
about 0.5 s more at exit (measured on 2 cores, a tenth of a 10k-unit run's fixed costs). thinc is therefore
imported with torch hidden; torch itself stays importable (the torch encoder, ``--device cuda``) and is imported
only where it is used.
"""

from __future__ import annotations

import sys


def import_thinc_without_torch() -> None:
    if "torch" in sys.modules or "thinc" in sys.modules:
        return  # already decided in this process
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes ``import torch`` raise ImportError
    try:
        import thinc.compat  # noqa: F401
    finally:
        del sys.modules["torch"]


import_thinc_without_torch()
