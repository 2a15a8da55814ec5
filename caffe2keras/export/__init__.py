"""Deployment exports (TFLite, SavedModel) verified in their own runtime, without caffe2keras."""
