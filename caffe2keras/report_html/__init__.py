"""The self-contained HTML equivalence report (``--report-html``).

One file per model: a verdict banner, the files with their sha256, the tolerance, the inputs and
versions, a matplotlib plot of every blob's relative error along the net's depth, the top-5
classes for image inputs, exported artifacts and the blob table. Everything is inline (SVG,
styles); the page loads nothing from anywhere. ``convert-all`` adds an index page.

matplotlib is an optional extra (``pip install 'caffe2keras[report]'``), imported only here and
only when a page is rendered: ``--help``, ``inspect`` and plain conversions never load it.
"""
