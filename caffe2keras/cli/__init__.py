"""The command line: click commands and their option tables, a thin shell over
:mod:`caffe2keras.api` (options -> an API call -> an exit code).

- :mod:`.app`: the ``caffe2keras`` group, ``convert`` and ``verify``
- :mod:`.inspect_command`, :mod:`.convert_all`: the other commands
- :mod:`.options`: option tables shared by the commands
- :mod:`.exits`: the only place errors become messages and exit codes
- :mod:`.outputs`: the manifest ``convert`` writes beside its model

Nothing here imports TensorFlow or Keras at import time.
"""

from caffe2keras.cli.app import main

__all__ = ["main"]
