"""``python -m caffe2keras.cli``: the same as the ``caffe2keras`` command."""

from caffe2keras.cli.app import main

if __name__ == "__main__":
    main()
