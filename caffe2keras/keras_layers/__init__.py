"""Custom Keras layers beyond :mod:`caffe2keras.layers` (which imports these, so that one import
registers every custom layer for safe-mode loading)."""
