"""Process-level helpers shared by the command line and the library: ``interrupts`` (a Ctrl-C
that a library dropped still stops the commit), ``quiet`` (TensorFlow's native start-up noise off
stderr), ``paths`` (every path of a command checked before any work), ``progress`` (step bars
and timings on stderr), ``discovery`` (the family and reference-op modules, imported by
walking their package). Standard library only at import time."""
