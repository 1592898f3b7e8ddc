"""Studies: every experiment as a registered :class:`~gradjax.studies.spec.Study` (its runs,
evaluation stages, claims and cost), the runner behind ``python -m gradjax.reproduce``, the
provenance record each study writes, its summaries and the results index."""

from gradjax.extras import require

require("train", "gradjax.studies")
require("eval", "gradjax.studies")
