"""``convert-all``: a list of models (``config``), converted and verified, reported together
(``run``); the click command is :mod:`caffe2keras.cli.convert_all`."""
