"""Writing a built model: one writer per format, atomic files, manifests, reproducible bytes."""
