"""Custom Keras layers too large for :mod:`caffe2keras.layers`, one module per topic.

Like those, each uses only ``keras.ops``, is registered serializable under the package name
``caffe2keras`` and is imported by :mod:`caffe2keras.layers`, so ``import caffe2keras.layers`` is
all a safe-mode load needs.
"""
