"""Assembling the Keras model: the builder registry and contract (:mod:`.registry`), the driver
that builds a graph into a functional model (:mod:`.model`), the weights' way from the caffemodel
into Keras (:mod:`.weights`) and helpers for builders working along Caffe axes (:mod:`.axes`).

The per-type builders live with their layer family in :mod:`caffe2keras.families`. Keras is
imported only when a builder or the driver runs.
"""
