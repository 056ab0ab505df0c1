"""Deprecated import name of the generator, kept for checkouts: use ``graphdetect.synth``.

The generator moved to ``graphdetect.synth`` so that graphdetect installs no top-level
package named ``datasets`` (Hugging Face's package of that name is widely installed). This
folder keeps the committed sample (``datasets/sample/``) and this shim, which works from a
checkout of the repository only; the wheel does not ship it.

>>> import graphdetect.synth
>>> from datasets import generate
>>> generate is graphdetect.synth.generate
True
"""

from graphdetect.synth import LOOKALIKES, VARIANTS, generate

__all__ = ["generate", "VARIANTS", "LOOKALIKES"]
