"""``caffe2keras inspect``: a layer table of a Caffe net without importing Keras or TensorFlow."""

from caffe2keras.inspection.analyze import inspect_net
from caffe2keras.inspection.model import Inspection, LayerRow
from caffe2keras.inspection.render import to_text

__all__ = ["Inspection", "LayerRow", "inspect_net", "to_text"]
